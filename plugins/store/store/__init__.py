"""Store: an in-memory key-value store whose contents survive hot reloads."""

from logomesh_studio.sdk import Message, Plugin, handler


class StorePlugin(Plugin):
    """``put``/``get``/``keys``/``delete`` on a dict kept in ``self.data``."""

    state_version = 1

    def initialize(self, ctx):
        super().initialize(ctx)
        self.data.setdefault("values", {})
        self.max_keys = int(ctx.config.get("max_keys", 10000))

    @property
    def values(self) -> dict:
        return self.data["values"]

    @handler("put")
    def put(self, message: Message):
        key, value = message.payload["key"], message.payload.get("value")
        if key not in self.values and len(self.values) >= self.max_keys:
            raise ValueError(f"store is full ({self.max_keys} keys)")
        self.values[key] = value
        return {"key": key, "stored": True}

    @handler("get")
    def get(self, message: Message):
        return self.values.get(message.payload["key"], message.payload.get("default"))

    @handler("keys")
    def keys(self, message: Message):
        return sorted(self.values)

    @handler("delete")
    def delete(self, message: Message):
        return self.values.pop(message.payload["key"], None) is not None

    @handler("storage")
    def storage(self, message: Message):
        """The ``storage`` capability: store a record under its ``key``."""
        return self.put(message)
