"""Read the two things the build needs from a Linux shared library (64-bit ELF, little
endian): the libraries it needs (``DT_NEEDED``, as ``readelf -d`` lists them) and the
bytes of one exported symbol. Plain :mod:`struct`, no binutils."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ElfFile", "is_elf"]

_ELF64_LE = b"\x7fELF\x02\x01"
_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION = struct.Struct("<IIQQQQIIQQ")
_DYN = struct.Struct("<qQ")
_SYM = struct.Struct("<IBBHQQ")
_SHT_DYNAMIC, _SHT_DYNSYM = 6, 11
_DT_NEEDED = 1


def is_elf(path: Path) -> bool:
    """Whether ``path`` is a 64-bit little-endian ELF file."""
    try:
        with path.open("rb") as file:
            return file.read(6) == _ELF64_LE
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class _Section:
    name: int
    type: int
    addr: int
    offset: int
    size: int
    link: int


class ElfFile:
    """One 64-bit little-endian ELF file, read whole; ValueError if it is not one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data = path.read_bytes()
        if self._data[:6] != _ELF64_LE:
            raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
        header = _HEADER.unpack_from(self._data, 0)
        shoff, shentsize, shnum = header[6], header[11], header[12]
        self._sections = [
            _Section(s[0], s[1], s[3], s[4], s[5], s[6])
            for s in (_SECTION.unpack_from(self._data, shoff + i * shentsize)
                      for i in range(shnum if shoff else 0))]
        self._names = self._sections[header[13]] if header[13] < len(self._sections) else None

    def _string(self, table: _Section, at: int) -> str:
        start = table.offset + at
        return self._data[start:self._data.index(b"\0", start)].decode("utf-8", "replace")

    def section_names(self) -> list[str]:
        """Its sections' names (``.text``, ``.debug_info``, ...)."""
        names = self._names
        return [] if names is None else [self._string(names, s.name) for s in self._sections]

    def needed(self) -> list[str]:
        """The libraries it needs, by soname (``libQt6Core.so.6``)."""
        found: list[str] = []
        for section in self._sections:
            if section.type != _SHT_DYNAMIC:
                continue
            strings = self._sections[section.link]
            for at in range(section.offset, section.offset + section.size, _DYN.size):
                tag, value = _DYN.unpack_from(self._data, at)
                if tag == _DT_NEEDED:
                    found.append(self._string(strings, value))
        return found

    def symbol(self, name: str) -> bytes:
        """The bytes of the exported data symbol ``name``; KeyError if it has none."""
        for section in self._sections:
            if section.type != _SHT_DYNSYM:
                continue
            strings = self._sections[section.link]
            for at in range(section.offset, section.offset + section.size, _SYM.size):
                name_at, _, _, index, value, size = _SYM.unpack_from(self._data, at)
                if index and index < len(self._sections) \
                        and self._string(strings, name_at) == name:
                    home = self._sections[index]
                    start = home.offset + value - home.addr
                    return self._data[start:start + size]
        raise KeyError(f"{self.path.name} exports no symbol {name!r}")
