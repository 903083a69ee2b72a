"""A plugin folder's content hash: equal means unchanged, and only what changed is read."""

from __future__ import annotations

import os

from logomesh_studio.runtime import plugin_files
from logomesh_studio.runtime.plugin_files import ContentHasher


def plugin_folder(tmp_path):
    folder = tmp_path / "alpha"
    (folder / "pkg").mkdir(parents=True)
    (folder / "plugin.toml").write_text('id = "alpha"\n')
    (folder / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (folder / "pkg" / "helpers.py").write_text("HELP = 1\n")
    return folder


def test_a_same_size_rewrite_that_keeps_the_file_times_changes_the_hash_once_named(tmp_path):
    folder = plugin_folder(tmp_path)
    module = folder / "pkg" / "__init__.py"
    hasher = ContentHasher()
    before = hasher.digest(folder)
    times = os.stat(module)
    module.write_text("VALUE = 2\n")  # same size; file times are coarse, so they may not move
    os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert hasher.digest(folder, {"pkg/__init__.py"}) != before


def test_only_the_files_events_named_are_read_unless_a_folder_was_named(tmp_path, monkeypatch):
    folder = plugin_folder(tmp_path)
    hasher = ContentHasher()
    hasher.digest(folder)
    read = []
    real_read = plugin_files._read_regular
    monkeypatch.setattr(plugin_files, "_read_regular",
                        lambda path: read.append(os.path.relpath(path, folder)) or real_read(path))
    walked = []
    monkeypatch.setattr(plugin_files, "hashed_files",
                        lambda folder: walked.append(folder) or iter(()))
    (folder / "pkg" / "helpers.py").write_text("HELP = 22\n")  # its own event is on its way
    (folder / "pkg" / "__init__.py").write_text("VALUE = 2\n")
    (folder / "pkg" / "gone.py").write_text("")
    hasher.digest(folder, {"pkg/__init__.py", "pkg/gone.py"})
    (folder / "pkg" / "gone.py").unlink()
    hasher.digest(folder, {"pkg/gone.py", "pkg/.__init__.py.swp"})
    assert sorted(read) == ["pkg/__init__.py", "pkg/gone.py"]  # no folder walked, nothing else read
    assert walked == []
    monkeypatch.undo()
    read.clear()
    monkeypatch.setattr(plugin_files, "_read_regular",
                        lambda path: read.append(os.path.relpath(path, folder)) or real_read(path))
    (folder / "pkg" / "sub").mkdir()  # a folder made: the walk finds its files, and the
    (folder / "pkg" / "sub" / "x.py").write_text("")  # other changes seen by their stat
    walked_digest = hasher.digest(folder, {"pkg/sub"})
    assert sorted(read) == ["pkg/helpers.py", "pkg/sub/x.py"]
    assert walked_digest == ContentHasher().digest(folder)


def test_hashing_only_what_events_named_gives_the_hash_of_reading_everything(tmp_path):
    folder = plugin_folder(tmp_path)
    hasher = ContentHasher()
    hasher.digest(folder)
    (folder / "pkg" / "deep").mkdir()
    hasher.digest(folder, {"pkg/deep"})
    for name, text in [("pkg/deep/a.py", "A = 1\n"), ("pkg/b.py", "B = 1\n"),
                       ("pkg/__init__.py", "VALUE = 3\n"), ("config.yaml", "x: 1\n")]:
        (folder / name).write_text(text)
        assert hasher.digest(folder, {name}) == ContentHasher().digest(folder), name
    (folder / "pkg" / "b.py").rename(folder / "pkg" / "c.py")
    assert hasher.digest(folder, {"pkg/b.py", "pkg/c.py"}) == ContentHasher().digest(folder)


def test_tests_editor_droppings_and_bytecode_leave_the_hash_alone(tmp_path):
    folder = plugin_folder(tmp_path)
    hasher = ContentHasher()
    before = hasher.digest(folder)
    (folder / "tests").mkdir()
    (folder / "tests" / "test_alpha.py").write_text("def test(): pass\n")
    (folder / "pkg" / "__pycache__").mkdir()
    (folder / "pkg" / "__pycache__" / "helpers.cpython-311.pyc").write_bytes(b"\0")
    (folder / "pkg" / ".__init__.py.kate-swp").write_text("swap")
    assert hasher.digest(folder, {"tests/test_alpha.py", "pkg/.__init__.py.kate-swp"}) == before
    (folder / "pkg" / "data.json").write_text("{}")
    assert hasher.digest(folder, {"pkg/data.json"}) != before


def test_a_file_written_since_the_last_hash_is_told_by_its_stat_alone(tmp_path):
    folder = plugin_folder(tmp_path)
    hasher = ContentHasher()
    hasher.digest(folder)
    assert not hasher.written_since(folder)
    (folder / "plugin.toml").write_text("")  # an editor truncated it, the rest is coming
    assert hasher.written_since(folder)
    hasher.digest(folder, {"plugin.toml"})
    (folder / "pkg" / "helpers.py").unlink()
    assert hasher.written_since(folder)
