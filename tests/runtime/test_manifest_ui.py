"""The manifest's ``[ui]`` table: a Studio panel factory, validated like every field."""

from __future__ import annotations

import pytest

from logomesh_studio.runtime.manifest import ManifestError, load_manifest

BASE = 'id = "clicker"\nname = "Clicker"\nversion = "1.0"\nentry = "clicker:Clicker"\n'


def test_ui_panel_names_a_factory_and_an_optional_title(tmp_path):
    path = tmp_path / "plugin.toml"
    path.write_text(BASE + '[ui]\npanel = "clicker_panel:make_panel"\ntitle = "Clicks"\n')
    ui = load_manifest(path).ui
    assert ui is not None and (ui.panel, ui.title) == ("clicker_panel:make_panel", "Clicks")


def test_a_manifest_without_ui_has_none(tmp_path):
    path = tmp_path / "plugin.toml"
    path.write_text(BASE)
    assert load_manifest(path).ui is None


@pytest.mark.parametrize(("table", "field", "reason"), [
    ('panel = "make_panel"', "ui.panel", "is not 'module:function'"),
    ('panel = "p:f"\ntitel = "x"', "ui.titel", "did you mean 'title'? allowed: panel, title"),
    ('title = "x"', "ui.panel", "required field is missing"),
])
def test_a_bad_ui_table_names_the_field_and_the_reason(tmp_path, table, field, reason):
    path = tmp_path / "plugin.toml"
    path.write_text(BASE + "[ui]\n" + table + "\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert caught.value.field == field and reason in caught.value.reason
