"""Archive: an append-only log that also provides the ``storage`` capability."""

from logomesh_studio.sdk import Message, Plugin, handler


class ArchivePlugin(Plugin):
    """Appends every record it is given; ``records`` lists them."""

    def initialize(self, ctx):
        super().initialize(ctx)
        self.data.setdefault("records", [])

    def execute(self, input):
        """The ``storage`` capability (no dedicated handler): append ``input``."""
        self.data["records"].append(input)
        return {"stored": True, "position": len(self.data["records"]) - 1}

    @handler("records")
    def records(self, message: Message):
        return list(self.data["records"])
