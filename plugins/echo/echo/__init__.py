"""Echo: replies with the payload it receives."""

from logomesh_studio.sdk import Message, Plugin, handler


class EchoPlugin(Plugin):
    """Answers ``echo`` with the payload and counts what it has echoed."""

    @handler("echo")
    def echo(self, message: Message):
        self.data["echoed"] = self.data.get("echoed", 0) + 1
        return message.payload

    def execute(self, input):
        return input
