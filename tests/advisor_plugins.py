"""Purpose-built plugins the advisor's tests share: drivers that start their work in
``initialize`` and log "driven" once done, and a plugin with slow, blocking and quick
handlers."""

from __future__ import annotations

import textwrap
from pathlib import Path

DRIVER = """
import asyncio
from logomesh_studio.sdk import Plugin, PluginError


class TestPlugin(Plugin):
    async def initialize(self, ctx):
        self.ctx = ctx
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self):
        await asyncio.sleep(0.05)
        ctx = self.ctx
{body}
        ctx.log.info("driven")

    def cleanup(self):
        self.task.cancel()
"""


def driver(body: str) -> str:
    return DRIVER.format(body=textwrap.indent(textwrap.dedent(body), " " * 8))


def line_of(folder: Path, text: str) -> tuple[str, int]:
    """The file under ``folder`` and the line number where ``text`` first appears."""
    for path in sorted(folder.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if text in line:
                return str(path), number
    raise AssertionError(f"{text!r} not found under {folder}")


SLEEPER = """
import asyncio
import time
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("work")
    def work(self, message):
        time.sleep(0.2)  # blocks the loop
        return "done"

    @handler("wait")
    async def wait(self, message):
        await asyncio.sleep(0.15)  # waits politely
        return "done"

    @handler("quick")
    def quick(self, message):
        return message.payload
"""
