"""Trim the ICU data library PySide6 ships to what an English-only Studio needs.

``libQt6Core`` needs ICU (``libicuuc``, ``libicui18n`` and ``libicudata``), and
``libicudata.so.NN`` is one 32 MB table: every locale's names, calendars and collation,
the codec tables of ~200 legacy encodings, and the word-break dictionaries of Chinese,
Japanese, Thai, Khmer, Lao and Burmese. Qt asks ICU for collation, legacy codecs and
time-zone names only; Studio is English, and plugins are Python (which uses its own
codecs). :func:`trim_icu_data` rebuilds the library with the same soname and symbol
(``icudtNN_dat``) holding only the entries :func:`keep_entry` keeps (about 4 MB): every
table that is not per locale, and the root and English locales. ICU falls back to the
root locale for any other (as it does for a locale it does not know); text in legacy
encodings is what the app can no longer convert through Qt.

The data is ICU's common data package ("CmnD", ``ucmndata.h``): a header, then a table
of contents (a count, then for each entry the offsets of its name and its data from the
table's start), the names, and the entries, each 16-byte aligned, sorted by name (ICU
looks them up by binary search). Rebuilding the library needs a C compiler
(``cc``); without one the library is left whole.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from logomesh_studio.bundle.elf import ElfFile

__all__ = ["IcuPackage", "find_icu_data", "keep_entry", "trim_icu_data"]

_MAGIC = b"\xda\x27"
_FORMAT = b"CmnD"
_LOCALE = re.compile(r"[a-z]{2,3}(_[A-Za-z0-9]+)*")
"""A locale id as ICU names its per-locale tables (``de``, ``zh_Hant_TW``, ``es_419``);
``root``, ``pool`` and the shared tables (``metaZones``, ``supplementalData``) are not."""
_ALIGN = 16


def keep_entry(name: str) -> bool:
    """Whether an English-only app keeps the ICU data entry ``name``
    (``icudt73l/coll/de.res``): not codec tables, break dictionaries, transliteration or
    the tables of any locale but English."""
    path = name.partition("/")[2]
    folder, _, base = path.rpartition("/")
    stem, _, ext = base.rpartition(".")
    if ext in ("cnv", "dict") or folder == "translit":
        return False
    if ext == "res" and _LOCALE.fullmatch(stem):
        return stem == "en" or stem.startswith("en_")
    return True


@dataclass(frozen=True, slots=True)
class IcuPackage:
    """An ICU common data package: its header bytes and its entries, in order."""

    header: bytes
    entries: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, data: bytes) -> IcuPackage:
        """The package that is ``data`` (exactly: its last entry ends where it ends)."""
        (header_size,) = struct.unpack_from("<H", data, 0)
        if data[2:4] != _MAGIC or data[12:16] != _FORMAT or data[8] != 0:
            raise ValueError("not a little-endian ICU common data package")
        toc = data[header_size:]
        (count,) = struct.unpack_from("<I", toc, 0)
        offsets = [struct.unpack_from("<II", toc, 4 + 8 * i) for i in range(count)]
        # Each entry ends where the next starts; the last one where the package does.
        ends = [data_at for _, data_at in offsets[1:]] + [len(toc)] * bool(offsets)
        entries = tuple((toc[name_at:toc.index(b"\0", name_at)].decode("ascii"),
                         toc[data_at:end])
                        for (name_at, data_at), end in zip(offsets, ends, strict=True))
        return cls(header=data[:header_size], entries=entries)

    def filtered(self, keep: Callable[[str], bool] = keep_entry) -> IcuPackage:
        """A package of the entries ``keep(name)`` is true for (the order kept)."""
        return IcuPackage(self.header, tuple(e for e in self.entries if keep(e[0])))

    def to_bytes(self) -> bytes:
        """The package as ICU reads it (entries 16-byte aligned, in the same order)."""
        names = b"".join(name.encode("ascii") + b"\0" for name, _ in self.entries)
        table = 4 + 8 * len(self.entries)
        data_start = _aligned(table + len(names))
        name_at, data_at, offsets, body = table, data_start, [], bytearray()
        for name, data in self.entries:
            offsets.append(struct.pack("<II", name_at, data_at))
            name_at += len(name) + 1
            padded = data + b"\0" * (_aligned(len(data)) - len(data))
            body += padded
            data_at += len(padded)
        toc = struct.pack("<I", len(self.entries)) + b"".join(offsets) + names
        return self.header + toc + b"\0" * (data_start - len(toc)) + bytes(body)

    def size(self) -> int:
        """Bytes of its entries."""
        return sum(len(data) for _, data in self.entries)


def _aligned(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


def find_icu_data(folder: Path) -> Path | None:
    """The ``libicudata.so.NN`` under ``folder`` (a built app's files), if there is one."""
    return next((p for p in sorted(folder.rglob("libicudata.so.*"))
                 if p.is_file() and not p.is_symlink()), None)


def trim_icu_data(library: Path, work: Path) -> tuple[int, str]:
    """Rebuild ``library`` (``libicudata.so.NN``) keeping :func:`keep_entry`'s entries.

    Returns (bytes saved, what was done or why not). Needs ``cc``; ``library`` is left
    as it was when anything fails.
    """
    major = library.name.rpartition(".so.")[2].partition(".")[0]
    if not major.isdigit():
        return 0, f"ICU data not trimmed: no version in {library.name}"
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        return 0, "ICU data not trimmed: no C compiler (cc) to rebuild it"
    before = library.stat().st_size
    symbol = f"icudt{major}_dat"
    try:
        package = IcuPackage.parse(ElfFile(library).symbol(symbol))
    except (ValueError, KeyError) as exc:
        return 0, f"ICU data not trimmed: {library.name}: {exc}"
    kept = package.filtered()
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        data = Path(tmp, "icudata.dat")
        data.write_bytes(kept.to_bytes())
        source = Path(tmp, "icudata.S")
        source.write_text(
            f'\t.section .rodata\n\t.globl {symbol}\n\t.type {symbol}, @object\n'
            f'\t.balign {_ALIGN}\n{symbol}:\n\t.incbin "{data}"\n'
            f'\t.size {symbol}, . - {symbol}\n\t.section .note.GNU-stack,"",@progbits\n')
        output = Path(tmp, library.name)
        done = subprocess.run([compiler, "-shared", "-nostdlib", f"-Wl,-soname,{library.name}",
                               "-o", str(output), str(source)], capture_output=True, text=True)
        if done.returncode != 0:
            return 0, f"ICU data not trimmed: {compiler} failed: {done.stderr.strip()[:300]}"
        shutil.copymode(library, output)
        output.replace(library)
    return before - library.stat().st_size, (
        f"ICU data trimmed to the root and English locales: {len(kept.entries)} of "
        f"{len(package.entries)} tables ({kept.size() / 1e6:.1f} of {package.size() / 1e6:.1f} MB)")
