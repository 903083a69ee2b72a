"""What the build removes from a frozen app's folder after PyInstaller: libraries only
dropped ones needed, links to them, and ICU's data for other languages. Fast: no
PyInstaller (the `packaging`-marked tests build the real apps)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from logomesh_studio.bundle.build import remove_dangling_links, unneeded_libraries
from logomesh_studio.bundle.elf import ElfFile
from logomesh_studio.bundle.icu import IcuPackage, find_icu_data, keep_entry, trim_icu_data

PYSIDE = Path(__import__("PySide6").__file__).parent
ICU_DATA = find_icu_data(PYSIDE / "Qt" / "lib")
needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")
needs_icu = pytest.mark.skipif(ICU_DATA is None, reason="this PySide6 ships no ICU data")


def _library(internal: Path, name: str, *needs: str) -> Path:
    """Compile ``internal/name``, a shared library needing ``needs`` (in ``internal``)."""
    target = internal / name
    source = target.with_name(target.name + ".c")
    source.write_text(f"int {target.name.split('.')[0]}_answer(void) {{ return 42; }}\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(target), str(source),
                    f"-Wl,-soname,{target.name}", "-Wl,--no-as-needed", f"-L{internal}",
                    *(f"-l:{n}" for n in needs)], check=True, capture_output=True)
    source.unlink()
    return target


def test_icu_keeps_shared_tables_and_the_root_and_english_locales_only():
    kept = ["icudt73l/root.res", "icudt73l/en.res", "icudt73l/en_GB.res", "icudt73l/pool.res",
            "icudt73l/coll/ucadata.icu", "icudt73l/coll/root.res", "icudt73l/metaZones.res",
            "icudt73l/supplementalData.res", "icudt73l/cnvalias.icu", "icudt73l/nfkc.nrm",
            "icudt73l/brkitr/word.brk", "icudt73l/zone/en_001.res"]
    dropped = ["icudt73l/de.res", "icudt73l/coll/zh.res", "icudt73l/zh_Hant_TW.res",
               "icudt73l/curr/es_419.res", "icudt73l/ibm-1390_P110-2003.cnv",
               "icudt73l/brkitr/cjdict.dict", "icudt73l/translit/root.res", "icudt73l/enq.res"]
    assert [n for n in kept if not keep_entry(n)] == []
    assert [n for n in dropped if keep_entry(n)] == []


@needs_icu
def test_the_icu_package_reads_and_writes_back_unchanged():
    assert ICU_DATA is not None
    major = ICU_DATA.name.rpartition(".so.")[2].partition(".")[0]
    package = IcuPackage.parse(ElfFile(ICU_DATA).symbol(f"icudt{major}_dat"))
    assert len(package.entries) > 1000
    assert IcuPackage.parse(package.to_bytes()) == package


QT_ON_TRIMMED_ICU = """
from PySide6.QtCore import QCollator, QLocale
words = ["zebra", "Zoo", "apple", "Äpfel", "a10", "a9"]
for name in ("en_US", "de_DE"):  # de falls back to the root collation
    collator = QCollator(QLocale(name))
    collator.setNumericMode(True)
    print(name, sorted(words, key=collator.sortKey))
print(QLocale("de_DE").toUpper("straße"))
"""


@needs_icu
@needs_cc
def test_trimmed_icu_data_is_a_fraction_and_qt_collates_and_cases_text_with_it(tmp_path):
    assert ICU_DATA is not None
    library = Path(shutil.copy(ICU_DATA, tmp_path / ICU_DATA.name))
    saved, what = trim_icu_data(library, tmp_path)
    assert saved > 0.7 * ICU_DATA.stat().st_size, what
    assert "root and English locales" in what
    major = library.name.rpartition(".so.")[2].partition(".")[0]
    names = [n for n, _ in IcuPackage.parse(ElfFile(library).symbol(f"icudt{major}_dat")).entries]
    assert any(n.endswith("/coll/root.res") for n in names)
    assert not any(n.endswith("/coll/de.res") for n in names)
    script = tmp_path / "collate.py"
    script.write_text(textwrap.dedent(QT_ON_TRIMMED_ICU))
    # Preloaded by its soname, it stands in for the one beside libQt6Core.
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "LD_PRELOAD": str(library)})
    assert done.returncode == 0, done.stderr
    expected = "['a9', 'a10', 'Äpfel', 'apple', 'zebra', 'Zoo']"
    assert done.stdout.splitlines() == [f"en_US {expected}", f"de_DE {expected}", "STRASSE"]


@needs_cc
def test_libraries_only_dropped_ones_needed_are_found_and_the_rest_kept(tmp_path):
    app = tmp_path / "App"
    internal = app / "_internal"
    (internal / "pkg").mkdir(parents=True)
    _library(internal, "libleaf.so.1")
    _library(internal, "libshared.so.2", "libleaf.so.1")
    _library(internal, "libgone.so.3", "libshared.so.2")  # what a dropped plugin needed
    _library(internal, "liborphan.so.4", "libgone.so.3")
    _library(internal, "libpython3.11.so.1.0")  # loaded by the executable, never needed
    _library(internal, "pkg/ext.so", "libshared.so.2")  # an extension module: kept
    shutil.copy(internal / "pkg" / "ext.so", app / "App")  # stands in for the executable
    assert [p.name for p in unneeded_libraries(app)] == ["libgone.so.3", "liborphan.so.4"]


def test_links_to_removed_libraries_are_removed_and_the_others_kept(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libkept.so.1").write_bytes(b"")
    (tmp_path / "libkept.so.1").symlink_to("lib/libkept.so.1")
    (tmp_path / "libgone.so.1").symlink_to("lib/libgone.so.1")
    assert remove_dangling_links(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib", "libkept.so.1"]
