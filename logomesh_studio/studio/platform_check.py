"""Name the missing system library when Qt's xcb platform plugin cannot load.

Without it Qt prints "Could not load the Qt platform plugin 'xcb'... This application
failed to start" and aborts, which does not say that ``libxcb-cursor0`` (usually) is
what to install. Before the QApplication exists, and only on Linux when the platform
will be xcb, ``ldd`` lists the plugin's unresolved libraries; each is named with the
Debian/Ubuntu package that provides it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QLibraryInfo

__all__ = ["DEBIAN_PACKAGES", "missing_libraries", "xcb_problem"]

DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
"""Libraries Qt's xcb plugin links, and the Debian/Ubuntu package of each."""
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def _platform_is_xcb(argv: list[str]) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    chosen = os.environ.get("QT_QPA_PLATFORM", "")
    if "-platform" in argv[:-1]:
        chosen = argv[argv.index("-platform") + 1]
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    # Qt's own choice: Wayland in a Wayland session, else xcb.
    return not (os.environ.get("WAYLAND_DISPLAY") or
                os.environ.get("XDG_SESSION_TYPE") == "wayland")


def missing_libraries(plugin: Path) -> list[str]:
    """The libraries ``plugin`` (a shared object) needs that the loader cannot find."""
    ldd = shutil.which("ldd")
    if ldd is None or not plugin.is_file():
        return []
    try:
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted(set(_NOT_FOUND.findall(done.stdout)))


def xcb_problem(argv: list[str] | None = None) -> str | None:
    """Why Qt's xcb platform plugin cannot load (naming libraries and packages), or None
    when it can, or when the platform will not be xcb."""
    if not _platform_is_xcb(list(sys.argv if argv is None else argv)):
        return None
    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    missing = missing_libraries(plugins / "platforms" / "libqxcb.so")
    if not missing:
        return None
    packages = sorted({DEBIAN_PACKAGES[lib] for lib in missing if lib in DEBIAN_PACKAGES})
    named = ", ".join(missing)
    hint = (f"; on Debian or Ubuntu: sudo apt install {' '.join(packages)}" if packages
            else "; install them with your system's package manager")
    return (f"Qt's xcb platform plugin cannot load: missing {named}{hint} "
            "(or set QT_QPA_PLATFORM=wayland or offscreen)")
