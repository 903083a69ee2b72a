"""Before Qt starts on xcb, a missing library of its xcb plugin is named with its package."""

from __future__ import annotations

import os
import stat

import pytest

from logomesh_studio.studio import platform_check
from logomesh_studio.studio.platform_check import xcb_problem


@pytest.fixture
def fake_ldd(tmp_path, monkeypatch):
    """An ``ldd`` on PATH that reports what the test writes into it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ldd = bin_dir / "ldd"

    def report(*lines: str) -> None:
        ldd.write_text("#!/bin/sh\n" + "".join(f"printf '%s\\n' '\t{line}'\n" for line in lines))
        ldd.chmod(ldd.stat().st_mode | stat.S_IEXEC)

    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(platform_check.sys, "platform", "linux")
    return report


def test_a_missing_xcb_library_is_named_with_its_debian_package(fake_ldd, monkeypatch):
    fake_ldd("libQt6XcbQpa.so.6 => /opt/qt/libQt6XcbQpa.so.6 (0x00007f)",
             "libxcb-cursor.so.0 => not found", "libxkbcommon-x11.so.0 => not found")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    problem = xcb_problem(["logomesh-studio"])
    assert problem is not None
    assert "missing libxcb-cursor.so.0, libxkbcommon-x11.so.0" in problem
    assert "sudo apt install libxcb-cursor0 libxkbcommon-x11-0" in problem


def test_nothing_is_said_when_every_library_is_there(fake_ldd, monkeypatch):
    fake_ldd("libxcb-cursor.so.0 => /usr/lib/libxcb-cursor.so.0 (0x00007f)")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert xcb_problem(["logomesh-studio"]) is None


def test_only_the_xcb_platform_is_checked(fake_ldd, monkeypatch):
    fake_ldd("libxcb-cursor.so.0 => not found")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert xcb_problem(["logomesh-studio"]) is None
    assert xcb_problem(["logomesh-studio", "-platform", "xcb"]) is not None
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert xcb_problem(["logomesh-studio"]) is None  # Qt picks Wayland there
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    assert xcb_problem(["logomesh-studio"]) is not None
