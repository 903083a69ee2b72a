"""The extension point for plugin panels in Studio (``[ui] panel`` in a manifest).

A plugin may name a panel factory, ``module:function``, in a module beside its
package that the runtime never imports::

    [ui]
    panel = "clicker_panel:make_panel"
    title = "Clicker"

Studio imports that module and calls ``make_panel(link)`` on its GUI thread; the
factory returns a ``QWidget``. The panel reaches its plugin only through the
:class:`PanelLink` it is given, so the plugin itself never imports Qt and runs the
same headless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["PanelFactory", "PanelLink"]


class PanelLink(Protocol):
    """What Studio hands a panel factory: its plugin's id and messages to that plugin."""

    @property
    def plugin_id(self) -> str:
        """The id of the plugin whose manifest names the panel."""
        ...

    def send(self, type: str, payload: Any = None, *,
             on_reply: Callable[[Any], None] | None = None,
             on_error: Callable[[str], None] | None = None) -> None:
        """Send ``type`` with ``payload`` to the plugin without blocking; ``on_reply(response)``
        or ``on_error(message)`` is called later, on the GUI thread."""
        ...


PanelFactory = Callable[[PanelLink], Any]
"""``make_panel(link) -> QWidget``: the callable ``[ui] panel`` names."""
