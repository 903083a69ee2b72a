"""Counter: word frequencies of a text, tokenized by the tokenizer plugin."""

from collections import Counter

from logomesh_studio.sdk import Message, Plugin, handler


class CounterPlugin(Plugin):
    """``count {text, top?}`` -> ``{total, unique, top: [[word, n], ...]}``."""

    @handler("count")
    async def count(self, message: Message):
        reply = await self.ctx.send("tokenizer", "tokenize", {"text": message.payload["text"]})
        counts = Counter(reply["tokens"])
        top = int(message.payload.get("top", 5))
        self.data["texts_counted"] = self.data.get("texts_counted", 0) + 1
        return {"total": sum(counts.values()), "unique": len(counts),
                "top": [[word, n] for word, n in counts.most_common(top)]}

    async def execute(self, input):
        return await self.count(Message("counter", "count", input))
