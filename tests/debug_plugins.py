"""Plugin sources the debugger tests step through; lines are found by their ``# marker``."""

ALPHA = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("double")
    def double(self, message):
        payload = message.payload  # double-first
        doubled = payload["n"] * 2  # double-compute
        return {"doubled": doubled}  # double-return

    @handler("nested")
    def nested(self, message):
        total = self.add_one(message.payload)  # nested-call
        return {"total": total}  # nested-return

    def add_one(self, n):
        result = n + 1  # add-one-body
        return result

    @handler("later")
    async def later(self, message):
        value = message.payload  # later-first
        return {"later": value}

    @handler("relay")
    async def relay(self, message):
        reply = await self.ctx.send("beta", "echo", message.payload)  # relay-send
        return {"relayed": reply}  # relay-return

    @handler("fail")
    def fail(self, message):
        reason = f"bad input {message.payload}"
        raise ValueError(reason)  # fail-raise

    @handler("spin")
    def spin(self, message):
        import time
        self.data["spinning"] = True
        count, deadline = 0, time.monotonic() + 30
        while not self.data.get("done") and time.monotonic() < deadline:
            count += 1  # spin-body
        return "done" if self.data.get("done") else "timed out"
"""

BETA = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("echo")
    def echo(self, message):
        echoed = message.payload  # echo-body
        return echoed
"""
