"""OrchestrationDocument: round trips that keep comments, undoable edits, every problem at once."""

from __future__ import annotations

import argparse
import difflib
import textwrap
from pathlib import Path

import pytest

from logomesh_studio.orchestration import commands
from logomesh_studio.orchestration.document import OrchestrationDocument
from logomesh_studio.orchestration.io import loads

EXAMPLES = sorted((Path(__file__).parents[2] / "plugins").glob("*.orchestration.yaml"))

HAND_WRITTEN = """\
# A hand-written orchestration: comments, odd spacing and quotes must survive edits.
name: hand   # trailing comment
initiator: boss
participants:
- alpha      # compact list style
- beta
phases:

- name: first
  mode: sequential
  tasks:
  - name: one
    target: alpha
    type: work
    input: {word: '${input.word}'}   # single quotes, kept
    output_mapping: {by: by}

  # a comment between tasks
  - name: two
    target: beta
    type: work
    input:
      nested: "${by}"
      n: 3

- name: second
  mode: parallel
  tasks:
  - name: three
    target: alpha
    type: work
"""


def write(tmp_path: Path, text: str, name: str = "doc") -> Path:
    path = tmp_path / f"{name}.orchestration.yaml"
    path.write_bytes(text.encode())
    return path


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_unchanged_example_round_trips_byte_for_byte(path, tmp_path):
    document = OrchestrationDocument.load(path)
    assert document.text() == path.read_text()
    saved = document.save(tmp_path / path.name)
    assert saved.read_bytes() == path.read_bytes()


def test_unchanged_crlf_file_round_trips_byte_for_byte(tmp_path):
    path = write(tmp_path, HAND_WRITTEN.replace("\n", "\r\n"))
    document = OrchestrationDocument.load(path)
    document.save()
    assert path.read_bytes() == HAND_WRITTEN.replace("\n", "\r\n").encode()
    document.set_task("first", "one", timeout=3)
    assert "\r\n" in document.text() and "\n" not in document.text().replace("\r\n", "")


def test_one_edit_changes_only_its_line_and_keeps_comments_quotes_and_blank_lines(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    document.set_task("first", "two", target="alpha")
    assert changed_lines(HAND_WRITTEN, document.text()) == ["-    target: beta",
                                                           "+    target: alpha"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_editing_an_example_changes_only_the_edited_lines(path):
    document = OrchestrationDocument.load(path)
    phase = document.phase_names()[0]
    task = document.task_names(phase)[0]
    document.set_task(phase, task, timeout=42)
    diff = changed_lines(path.read_text(), document.text())
    assert all("timeout" in line for line in diff) and any("42" in line for line in diff)
    loads(document.text())  # still a valid orchestration


def test_added_task_appears_in_its_phase_with_house_style(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    document.add_task("second", "four", "gamma", type="work", input={"text": "${by}"})
    text = document.text()
    assert "participants:\n- alpha      # compact list style\n- beta\n- gamma\n" in text
    assert '  - name: four\n    target: gamma\n    type: work\n    input: {text: "${by}"}\n' \
        in text
    assert document.task_names("second") == ["three", "four"]


def test_every_edit_is_one_undo_step_and_undoing_all_returns_the_loaded_bytes(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    edits = [
        lambda: document.add_phase("third", "conditional"),
        lambda: document.add_task("third", "gate", "gamma", type="work"),
        lambda: document.set_task("third", "gate", condition="by == 'alpha'", required=False),
        lambda: document.set_phase("third", mode="sequential", timeout=5),
        lambda: document.move_task("first", "one", "second", 1),
        lambda: document.set_position("gate", 120, 40.5),
        lambda: document.set_task("third", "gate", name="gate2"),
        lambda: document.remove_task("second", "three"),
        lambda: document.remove_phase("first"),
        lambda: document.set_phase("third", name="last"),
    ]
    texts = [document.text()]
    for edit in edits:
        edit()
        texts.append(document.text())
        assert texts[-1] != texts[-2]
    for expected in reversed(texts[:-1]):
        assert document.can_undo
        document.undo()
        assert document.text() == expected
    assert not document.can_undo and document.can_redo
    assert document.text() == HAND_WRITTEN
    for expected in texts[1:]:
        document.redo()
        assert document.text() == expected
    assert not document.can_redo


def test_a_new_edit_clears_redo():
    document = OrchestrationDocument.new("fresh", "boss")
    document.add_phase("a", "sequential")
    document.undo()
    assert document.can_redo
    document.add_phase("b", "parallel")
    assert not document.can_redo and document.phase_names() == ["b"]


def test_add_task_adds_the_missing_participant_in_the_same_undo_step():
    document = OrchestrationDocument.new("fresh", "boss")
    document.add_phase("a", "sequential")
    document.add_task("a", "t", "alpha", type="work")
    document.add_task("a", "c", "capability:compute")
    assert document.data()["participants"] == ["alpha"]
    document.undo()
    document.undo()
    assert document.data()["participants"] == []


def test_new_document_built_by_edits_is_valid_yaml_in_house_style(tmp_path):
    document = OrchestrationDocument.new("built", "boss")
    document.add_phase("split", "sequential")
    document.add_task("split", "first", "alpha", type="work", input={"word": "${input.word}"})
    document.set_task("split", "first", output_mapping={"by": "by"})
    document.add_phase("fan", "parallel")
    document.add_task("fan", "second", "beta", type="work", input="${by}")
    path = document.save(tmp_path / "built.orchestration.yaml")
    assert path.read_text() == textwrap.dedent("""\
        name: built
        description: ''
        initiator: boss
        participants: [alpha, beta]
        phases:
          - name: split
            mode: sequential
            tasks:
              - name: first
                target: alpha
                type: work
                input: {word: "${input.word}"}
                output_mapping: {by: by}
          - name: fan
            mode: parallel
            tasks:
              - name: second
                target: beta
                type: work
                input: "${by}"
        """)
    assert document.problems() == []
    assert OrchestrationDocument.load(path).text() == path.read_text()


def test_positions_go_into_the_layout_section_and_survive_a_reload(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    document.set_position("one", 10, 20)
    document.set_position("first", 0, 5.5)
    document.save()
    again = OrchestrationDocument.load(document.path)
    assert again.position("one") == (10, 20) and again.position("first") == (0, 5.5)
    assert again.position("three") is None
    assert again.text().endswith("layout:\n  one: {x: 10, y: 20}\n  first: {x: 0, y: 5.5}\n")
    assert loads(again.text()).document.tasks  # the engine ignores layout


@pytest.mark.parametrize(("edit", "field"), [
    (lambda d: d.add_task("nowhere", "x", "alpha"), "phase"),
    (lambda d: d.add_task("first", "two", "alpha"), "name"),
    (lambda d: d.add_task("first", "9bad", "alpha"), "name"),
    (lambda d: d.add_task("first", "x", "Not An Id"), "target"),
    (lambda d: d.add_task("first", "x", "capability:compute", type="work"), "type"),
    (lambda d: d.add_task("first", "x", "alpha", input={"when": object()}), "input"),
    (lambda d: d.add_task("first", "x", "alpha", index=7), "index"),
    (lambda d: d.add_phase("first", "sequential"), "name"),
    (lambda d: d.add_phase("x", "sideways"), "mode"),
    (lambda d: d.set_task("first", "one", required="yes"), "required"),
    (lambda d: d.set_task("first", "one", timeout=-1), "timeout"),
    (lambda d: d.set_task("first", "one", outputs={}), "outputs"),
    (lambda d: d.set_task("first", "one", name="three"), "name"),
    (lambda d: d.set_task("first", "one", output_mapping={"input": "x"}), "output_mapping"),
    (lambda d: d.set_task("first", "nope", timeout=1), "task"),
    (lambda d: d.set_phase("first", name="second"), "name"),
    (lambda d: d.set_phase("first", required="no"), "required"),
    (lambda d: d.set_phase("first", tasks=[]), "tasks"),
    (lambda d: d.remove_task("second", "one"), "task"),
    (lambda d: d.remove_phase("third"), "phase"),
    (lambda d: d.move_task("first", "one", "second", 5), "index"),
    (lambda d: d.set_position("ghost", 1, 2), "node"),
    (lambda d: d.set_position("one", "left", 2), "x"),
])
def test_a_bad_edit_raises_value_error_naming_the_field_and_changes_nothing(tmp_path, edit,
                                                                            field):
    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    document.add_phase("extra", "parallel")
    before = document.text()
    with pytest.raises(ValueError, match=rf"^{field}\b"):
        edit(document)
    assert document.text() == before
    assert document.undo_label == "add phase extra"


def test_problems_of_a_sound_example_are_none():
    for path in EXAMPLES:
        assert OrchestrationDocument.load(path).problems() == []


def test_problems_lists_every_problem_with_phase_task_field_and_line(tmp_path):
    path = write(tmp_path, textwrap.dedent("""\
        name: broken
        initiator: boss
        participants: [alpha]
        phases:
          - name: p
            mode: conditional
            tasks:
              - name: bad-condition
                target: alpha
                condition: "len(input) >"
              - name: unknown-target
                target: ghost
                condition: "True"
              - name: bad-ref
                target: alpha
                condition: "True"
                input: "${nothing}"
              - name: typo-field
                target: alpha
                condition: "True"
                outputs: {x: y}
              - name: wrong-type
                target: alpha
                condition: "True"
                required: maybe
        """))
    found = {(p.task, p.field.rsplit(".", 1)[-1], p.line) for p in
             OrchestrationDocument.load(path).problems()}
    assert found == {
        ("bad-condition", "condition", 10),
        ("unknown-target", "target", 12),
        ("bad-ref", "input", 17),
        ("typo-field", "outputs", 21),
        ("wrong-type", "required", 25),
    }
    assert all(p.phase == "p" for p in OrchestrationDocument.load(path).problems())


def test_problems_follow_edits_and_clear_when_fixed(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    document.set_task("second", "three", condition="len(")
    [problem] = document.problems()
    assert (problem.phase, problem.task, problem.node) == ("second", "three", "three")
    assert problem.field.endswith("condition")
    document.set_task("second", "three", condition="len(by) > 0")
    assert document.problems() == []


def test_problems_of_yaml_that_does_not_parse_and_edits_refused(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, "name: [unclosed\nphases: 3\n"))
    [problem] = document.problems()
    assert problem.field == "(syntax)" and "invalid YAML" in problem.reason
    with pytest.raises(ValueError, match="YAML"):
        document.add_phase("a", "sequential")


def test_problems_against_a_workspace_folder(workspace, tmp_path):
    workspace.plugin("alpha", capabilities=["compute"])
    workspace.plugin("boss", permissions=["send:alpha:ping"])
    document = OrchestrationDocument.new("ws", "boss")
    document.add_phase("a", "sequential")
    document.add_task("a", "ok", "alpha", type="ping")
    document.add_task("a", "no-handler", "alpha", type="pong")
    document.add_task("a", "ghost", "ghost", type="ping")
    document.add_task("a", "cap", "capability:compute")
    document.add_task("a", "nocap", "capability:nothing")
    found = {(p.task, p.reason) for p in document.problems(workspace.root)}
    reasons = "\n".join(sorted(f"{task}: {reason}" for task, reason in found))
    assert "no-handler: alpha has no handler for 'pong' (it handles: ping)" in reasons
    assert "no plugin 'ghost' in the workspace" in reasons
    assert "lacks the permission 'send:ghost:ping'" in reasons
    assert "lacks the permission 'capability:compute'" in reasons
    assert "no plugin in the workspace provides capability 'nothing'" in reasons
    assert not [r for t, r in found if t == "ok"]


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="logomesh-studio")
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_orchestrate_lists_a_bad_condition_and_an_unknown_plugin_together(workspace, capsys):
    workspace.plugin("alpha")
    workspace.plugin("boss", permissions=["send:*"])
    path = workspace.root / "bad.orchestration.yaml"
    path.write_text(textwrap.dedent("""\
        name: bad
        initiator: boss
        participants: [alpha, ghost]
        phases:
          - name: p
            tasks:
              - {name: one, target: alpha, type: ping, condition: "len(input) >"}
              - {name: two, target: ghost, type: ping}
        """))
    assert cli("orchestrate", str(path)) == 2
    err = capsys.readouterr().err
    assert f"{path}:3: participants[1]: no plugin 'ghost' in the workspace" in err
    assert f"{path}:7: phases[0].tasks[0].condition: invalid syntax" in err
    assert "2 problems; nothing was run" in err


def test_a_task_appended_to_a_phase_keeps_the_blank_line_before_the_next_phase(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    document.add_task("first", "last", "alpha", type="work")
    assert changed_lines(HAND_WRITTEN, document.text()) == [
        "+  - name: last", "+    target: alpha", "+    type: work"]
    assert "      n: 3\n  - name: last\n    target: alpha\n    type: work\n\n- name: second" \
        in document.text()
    document.undo()
    assert document.text() == HAND_WRITTEN


def test_problems_report_duplicate_keys_and_edits_wait_for_the_fix(tmp_path):
    path = write(tmp_path, "name: a\nname: b\ninitiator: boss\nparticipants: [x]\nphases: []\n")
    document = OrchestrationDocument.load(path)
    assert any(p.field == "name" and "duplicate key" in p.reason and p.line == 2
               for p in document.problems())
    with pytest.raises(ValueError, match="fixed"):
        document.add_phase("a", "sequential")


YAML_11_SCALARS = """\
name: scalars
initiator: boss
participants: [alpha]
phases:
- name: p
  mode: sequential
  required: no       # YAML 1.1 (PyYAML, the engine): false; YAML 1.2: the string "no"
  tasks:
  - name: t
    target: alpha
    type: work
    required: On
    timeout: 010     # octal in YAML 1.1: 8 seconds
    input: {flags: [yes, No, off, y, n], mode: 0755, time: 1:30, big: 1e3, ok: true}
"""


def test_the_document_reads_every_scalar_as_the_engine_does(tmp_path):
    path = write(tmp_path, YAML_11_SCALARS)
    document = OrchestrationDocument.load(path)
    engine = loads(path.read_text()).document.to_json()
    document.set_position("t", 1, 2)  # now read from the round-trip tree
    edited = document.data()
    assert edited["phases"][0]["required"] is False
    task = edited["phases"][0]["tasks"][0]
    assert task["required"] is True and task["timeout"] == 8
    assert task["input"] == {"flags": [True, False, False, "y", "n"], "mode": 0o755, "time": 90,
                             "big": "1e3", "ok": True}
    assert task["input"] == engine["phases"][0]["tasks"][0]["input"]
    assert document.problems() == []


def test_an_edit_keeps_yes_no_spellings_and_quotes_strings_the_engine_would_read_as_bools(
        tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, YAML_11_SCALARS))
    document.set_task("p", "t", input={"answer": "yes", "mode": "010", "flag": "on"},
                      condition="input != None")
    assert sorted(changed_lines(YAML_11_SCALARS, document.text())) == [
        '+    condition: "input != None"',
        "+    input: {answer: 'yes', mode: '010', flag: 'on'}",
        "-    input: {flags: [yes, No, off, y, n], mode: 0755, time: 1:30, big: 1e3, ok: true}"]
    task = loads(document.text()).document.phases[0].tasks[0]
    assert task.input == {"answer": "yes", "mode": "010", "flag": "on"}
    assert task.required is True and task.timeout == 8


RENAMES = """\
name: renames
initiator: boss
participants: [alpha]
phases:
- name: first
  mode: sequential
  tasks:
  - name: fetch
    target: alpha
    type: work
  - name: mapped
    target: alpha
    type: work
    output_mapping: {words: text}
- name: second
  mode: sequential
  tasks:
  - name: use
    target: alpha
    type: work
    input:
      all: "${fetch}"
      first: ['${fetch.items[0]}', "${ fetch }"]
      note: "from ${fetch.text} ok"   # mixed text
      other: "${input.fetch}"
      words: "${words}"
    condition: "fetch.count > 0 and 'fetch' != words"
layout:
  fetch: {x: 10, y: 20}
"""


def test_renaming_a_task_rewrites_the_references_to_it_in_one_undo_step(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, RENAMES))
    document.set_task("first", "fetch", name="download")
    assert sorted(changed_lines(RENAMES, document.text())) == sorted([
        "-  - name: fetch", "+  - name: download",
        '-      all: "${fetch}"', '+      all: "${download}"',
        """-      first: ['${fetch.items[0]}', "${ fetch }"]""",
        """+      first: ['${download.items[0]}', "${ download }"]""",
        '-      note: "from ${fetch.text} ok"   # mixed text',
        '+      note: "from ${download.text} ok" # mixed text',  # the comment is kept
        """-    condition: "fetch.count > 0 and 'fetch' != words\"""",
        """+    condition: "download.count > 0 and 'fetch' != words\"""",
        "-  fetch: {x: 10, y: 20}", "+  download: {x: 10, y: 20}"])
    assert document.problems() == []
    assert document.undo() and document.text() == RENAMES and not document.can_undo


def test_renaming_a_task_with_an_output_mapping_leaves_references_to_its_keys(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, RENAMES))
    document.set_task("first", "mapped", name="mapper")
    assert changed_lines(RENAMES, document.text()) == ["-  - name: mapped", "+  - name: mapper"]


def test_problems_after_an_edit_check_again_only_the_edited_task(tmp_path, monkeypatch):
    from logomesh_studio.orchestration import validation

    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    document.set_task("first", "two", input={"nested": "${nowhere}"})
    [before] = document.problems()
    validated = []
    real = validation.Task.model_validate
    monkeypatch.setattr(validation.Task, "model_validate",
                        lambda data, **kw: validated.append(data["name"]) or real(data, **kw))

    document.set_task("second", "three", condition="len(")
    validated.clear()  # the edit itself checked its fields
    problems = document.problems()

    assert validated == ["three"]  # "one" and "two" were not validated again
    assert before in problems and len(problems) == 2  # their problems are still reported
    assert {p.task for p in problems} == {"two", "three"}
    document.undo()
    assert document.problems() == [before]


def test_prepare_edits_builds_a_big_files_tree_in_a_child_and_edits_match(tmp_path,
                                                                          monkeypatch):
    from logomesh_studio.orchestration import document as documents

    monkeypatch.setattr(documents, "BACKGROUND_LINES", 10)  # HAND_WRITTEN counts as big
    path = write(tmp_path, HAND_WRITTEN)
    prepared, plain = OrchestrationDocument.load(path), OrchestrationDocument.load(path)
    assert prepared.prepare_edits()

    def refuse(text):
        raise AssertionError("built in process")

    monkeypatch.setattr(prepared._yaml(), "load", refuse)  # the tree must come from the child
    for document in (prepared, plain):
        document.set_task("first", "two", target="alpha")
        document.add_task("second", "four", "gamma", type="work", input={"text": "${by}"})
        document.set_task("second", "three", condition="len(")
    assert prepared.text() == plain.text()
    assert prepared.problems() == plain.problems()  # same lines too
    assert any(p.field.endswith("condition") for p in prepared.problems())
    for _ in range(3):
        prepared.undo()
    assert prepared.text() == HAND_WRITTEN


def test_prepare_edits_leaves_small_and_broken_files_to_the_first_edit(tmp_path):
    assert not OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN)).prepare_edits()
    broken = OrchestrationDocument.load(write(tmp_path, "name: [unclosed\n" * 2000, "broken"))
    assert not broken.prepare_edits()


def test_problem_lines_follow_the_text_after_edits_above_them(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    document.set_task("first", "one", timeout=3, condition="input.word != None")  # +2 lines
    document.add_task("first", "added", "alpha", type="work")  # 3 more before "three"
    document.set_task("second", "three", condition="len(")
    lines = document.text().splitlines()
    problems = {p.task: p for p in document.problems()}
    assert lines[problems["three"].line - 1].strip().startswith("condition:")
    document.set_task("first", "added", input={"x": "${nowhere}"})  # a node the load never saw
    added = next(p for p in document.problems() if p.task == "added")
    assert document.text().splitlines()[added.line - 1].strip().startswith("input:")


def test_a_big_files_problem_lines_are_exact_again_after_a_save(tmp_path, monkeypatch):
    from logomesh_studio.orchestration import document as documents

    monkeypatch.setattr(documents, "EXACT_LINES", 10)  # HAND_WRITTEN counts as big
    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    document.set_task("first", "one", timeout=3, condition="input.word != None")
    document.set_task("second", "three", condition="len(")
    document.save()
    [problem] = [p for p in document.problems() if p.task == "three"]
    assert document.text().splitlines()[problem.line - 1].strip().startswith("condition:")


def big_commented(phases: int = 12, tasks: int = 8) -> str:
    """A file of a few hundred lines with comments, blank lines and nested values between
    its tasks, and a few problems spread through it."""
    lines = ["# a big hand-written file", "name: big   # trailing comment", "initiator: boss",
             "participants: [alpha, beta]", "", "# the phases", "phases:"]
    for p in range(phases):
        lines += ["", f"  # phase {p}", f"  - name: p{p}", "    mode: sequential", "    tasks:"]
        for t in range(tasks):
            name = f"t{p}-{t}"
            if t % 3 == 1:
                lines.append(f"      # before {name}")
            lines += [f"      - name: {name}", "        target: alpha", "        type: work"]
            if t % 2:
                lines += ["        input:", f'          word: "${{input.word}}"   # {name}',
                          "          n: [1, 2]"]
            if t == 5 and p % 4 == 1:
                lines.append('        condition: "word =="')  # does not parse
            if t == 6 and p % 5 == 2:
                lines.append("        colour: red")  # not a task field
            if t % 4 == 3:
                lines.append("")
        if p % 3 == 2:
            lines.append("    required: false   # after its tasks")
    lines += ["layout:", "  t0-0: {x: 10, y: 20}"]
    return "\n".join(lines) + "\n"


def assert_lines_match_a_fresh_read(document: OrchestrationDocument) -> None:
    """Every node's line and every problem's line are those of the text read anew."""
    fresh = OrchestrationDocument(document.text())
    nodes = [n for p in fresh.phase_names() for n in (p, *fresh.task_names(p))]
    assert {n: document.line_of(n) for n in nodes} == {n: fresh.line_of(n) for n in nodes}
    assert [(p.field, p.line) for p in document.problems()] == \
        [(p.field, p.line) for p in fresh.problems()]


def test_node_and_problem_lines_stay_exact_after_every_kind_of_edit_in_a_big_file():
    from logomesh_studio.orchestration.document import EXACT_LINES

    text = big_commented()
    assert text.count("\n") > 2 * EXACT_LINES  # lines are not read back from the text
    document = OrchestrationDocument(text)
    assert document.line_of("t3-2") == text.splitlines().index("      - name: t3-2") + 1
    edits = [
        lambda d: d.set_task("p0", "t0-1", timeout=3, condition="n > 1"),  # grows a task
        lambda d: d.add_task("p1", "new-first", "beta", type="work", input={"a": 1}, index=0),
        lambda d: d.add_task("p2", "new-last", "gamma", type="work"),  # appended, +participant
        lambda d: d.remove_task("p3", "t3-1"),  # took its comment along
        lambda d: d.move_task("p4", "t4-7", "p0", 0),
        lambda d: d.move_task("p0", "t0-0", "p11", None),
        lambda d: d.set_position("t5-5", 100, 200),
        lambda d: d.add_phase("inserted", "parallel", index=2),
        lambda d: d.set_phase("p6", timeout=30, required=False),
        lambda d: d.set_task("p7", "t7-2", name="renamed"),
        lambda d: d.remove_phase("p8"),
        lambda d: d.add_task("inserted", "lonely", "alpha", type="work"),
        lambda d: d.set_task("p9", "t9-5", condition="word == 'x'"),  # a problem fixed
    ]
    for edit in edits:
        edit(document)
        assert_lines_match_a_fresh_read(document)
    while document.undo():
        assert_lines_match_a_fresh_read(document)
    assert document.text() == text
    while document.redo():
        assert_lines_match_a_fresh_read(document)


def test_node_lines_come_from_the_text_as_it_is_now(tmp_path):
    document = OrchestrationDocument.load(write(tmp_path, HAND_WRITTEN))
    loaded = HAND_WRITTEN.splitlines()
    assert document.line_of("first") == loaded.index("- name: first") + 1
    assert document.line_of("two") == loaded.index("  - name: two") + 1
    document.add_task("first", "zero", "alpha", type="work", index=0)
    lines = document.text().splitlines()
    for node in ("first", "zero", "one", "two", "second", "three"):
        assert lines[document.line_of(node) - 1].lstrip("- ").startswith(f"name: {node}")
    with pytest.raises(ValueError, match="node: no task or phase named 'nope'"):
        document.line_of("nope")
