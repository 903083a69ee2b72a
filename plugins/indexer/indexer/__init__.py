"""Indexer: counts a document's words and keeps a summary in the store."""

from logomesh_studio.sdk import Message, Plugin, handler


class IndexerPlugin(Plugin):
    """``index {id, text}`` stores ``doc:<id>``; ``lookup {id}`` reads it back."""

    @handler("index")
    async def index(self, message: Message):
        doc_id, text = message.payload["id"], message.payload["text"]
        summary = await self.ctx.send("counter", "count", {"text": text, "top": 3})
        provider, _ = await self.ctx.request_capability(
            "storage", {"key": f"doc:{doc_id}", "value": summary})
        self.ctx.log.info("indexed %s (%d words) into %s", doc_id, summary["total"], provider)
        return {"id": doc_id, "words": summary["total"], "stored_in": provider}

    @handler("lookup")
    async def lookup(self, message: Message):
        return await self.ctx.send("store", "get", {"key": f"doc:{message.payload['id']}"})
