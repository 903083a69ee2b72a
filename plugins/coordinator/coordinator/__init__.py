"""Coordinator: runs the text pipeline as a workflow and pings everyone."""

from logomesh_studio.sdk import Message, Plugin, handler


class CoordinatorPlugin(Plugin):
    """``process {id, text}`` runs tokenize -> count -> index as one workflow."""

    @handler("process")
    async def process(self, message: Message):
        doc = message.payload
        result = await self.ctx.workflow([
            {"name": "tokens", "target": "tokenizer", "type": "tokenize",
             "payload": {"text": doc["text"]}},
            {"name": "counts", "target": "counter", "type": "count",
             "payload": {"text": doc["text"], "top": 3}},
            {"name": "index", "target": "indexer", "type": "index",
             "payload": {"id": doc["id"], "text": doc["text"]}},
            {"name": "echo", "target": "echo", "type": "echo", "required": False,
             "payload": {"indexed": "${index.id}", "words": "${counts.total}"}},
        ])
        return {"status": result["status"],
                "steps": [[s["name"], s["status"]] for s in result["steps"]],
                "error": result["error"]}

    @handler("ping-all")
    async def ping_all(self, message: Message):
        replies = await self.ctx.broadcast("echo", {"ping": True})
        return sorted(pid for pid, reply in replies.items() if not isinstance(reply, Exception))

    async def execute(self, input):
        return await self.process(Message("coordinator", "process", input))
