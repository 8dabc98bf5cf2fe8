"""Reading custom target files: `format = "custom"` and a `[kinds.<kind>]` table per kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptbundle.build.pipeline import read_config
from promptbundle.core.errors import PromptBundleError
from tests.support import BundleFactory

CONFIG = 'name = "b"\ntargets = ["notes"]\n'
TARGET = """\
format = "custom"

[kinds.command]
template = "command.md.j2"
path = "prompts/{{ prompt.id }}.md"
fields = { description = "summary", name = "title" }
schema = "command.schema.json"

[kinds.rule]
path = "rules/{{ prompt.id }}.md"
"""
SCHEMA = '{"type": "object", "required": ["summary"]}\n'


def _bundle(
    make_bundle: BundleFactory, target: str, files: dict[str, str | bytes] | None = None
) -> Path:
    tree: dict[str, str | bytes] = {
        "promptbundle.toml": CONFIG,
        "targets/notes.toml": target,
        "targets/notes/command.md.j2": "{{ frontmatter }}{{ body }}",
        "targets/notes/rule.j2": "{{ body }}",
        "targets/notes/command.schema.json": SCHEMA,
    }
    tree.update(files or {})
    return make_bundle(tree)


def _errors(root: Path) -> list[str]:
    with pytest.raises(PromptBundleError) as info:
        read_config(root)
    return info.value.lines()


def test_a_custom_target_reads_its_kinds(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle, TARGET)
    (target,) = read_config(root).targets
    assert target.format == "custom"
    assert sorted(target.kinds) == ["command", "rule"]
    command = target.kinds["command"]
    assert command.template == root.resolve() / "targets/notes/command.md.j2"
    assert command.template_text == "{{ frontmatter }}{{ body }}"
    assert command.path == "prompts/{{ prompt.id }}.md"
    assert command.fields == (("description", "summary"), ("name", "title"))
    assert command.schema == {"type": "object", "required": ["summary"]}
    assert command.schema_file == root.resolve() / "targets/notes/command.schema.json"
    # The template defaults to <kind>.j2 beside the target file's folder; no schema, no fields.
    rule = target.kinds["rule"]
    assert (rule.template.name, rule.fields, rule.schema) == ("rule.j2", (), None)


def test_a_template_may_be_shared_from_elsewhere_in_targets(make_bundle: BundleFactory) -> None:
    target = 'format = "custom"\n[kinds.rule]\ntemplate = "../shared/r.j2"\npath = "r.md"\n'
    root = _bundle(make_bundle, target, {"targets/shared/r.j2": "x"})
    (loaded,) = read_config(root).targets
    assert loaded.kinds["rule"].template == root.resolve() / "targets/shared/r.j2"


def test_a_custom_target_without_kinds_is_an_error(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle, 'format = "custom"\n')
    assert _errors(root) == [
        f"{root / 'targets/notes.toml'}:1:1: error: a custom target needs a [kinds.<kind>] "
        "table for each kind it carries (agent, command, skill, rule), with a template and an "
        "output path [PB001]"
    ]


def test_kinds_in_a_built_in_target_is_an_error(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle, 'format = "opencode"\n\n[kinds.rule]\npath = "x.md"\n')
    assert _errors(root) == [
        f"{root / 'targets/notes.toml'}:3:1: error: 'kinds' belongs to custom targets: "
        "set format = 'custom' [PB001]"
    ]


def test_custom_needs_a_target_file(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": 'name = "b"\ntargets = ["custom"]\n'})
    assert _errors(root) == [
        f"{root / 'promptbundle.toml'}:2:1: error: target 'custom' needs its target file "
        "targets/custom.toml: a custom target names a template and an output path for each "
        "kind it carries [PB001]"
    ]


def test_problems_of_each_kind_are_located_at_their_keys(make_bundle: BundleFactory) -> None:
    target = """\
    format = "custom"

    [kinds.comand]
    path = "x.md"

    [kinds.rule]
    path = ""
    colour = "red"
    template = "/etc/passwd"

    [kinds.skill]
    template = "../../outside.j2"
    path = "s.md"

    [kinds.agent]
    template = "missing.j2"
    path = "a.md"
    fields = { description = "summary", modle = "m", tools = "summary" }
    """
    root = _bundle(make_bundle, target)
    source = root / "targets/notes.toml"
    assert _errors(root) == [
        f"{source}:3:1: error: unknown kind 'comand' (did you mean 'command'?)"
        " (kinds: agent, command, skill, rule) [PB001]",
        f"{source}:7:1: error: 'path' is required: the output path pattern, like "
        "'prompts/{{ prompt.id }}.md' (inside the target's output folder) [PB001]",
        f"{source}:8:1: error: unknown key 'colour' (known: fields, path, schema, template)"
        " [PB001]",
        f"{source}:9:1: error: 'template' must be a path relative to targets/notes/,"
        " got '/etc/passwd' [PB001]",
        f"{source}:12:1: error: 'template' must name a file inside targets/,"
        " got '../../outside.j2' [PB001]",
        f"{source}:16:1: error: 'template': targets/notes/missing.j2 does not exist [PB001]",
        f"{source}:18:1: error: 'fields' maps two canonical fields onto one output key [PB001]",
        f"{source}:18:1: error: unknown canonical field 'modle' (did you mean 'model'?)"
        " (fields: name, description, model, tools) [PB001]",
    ]


def test_a_kind_that_is_not_a_table_and_fields_that_are_not_are_errors(
    make_bundle: BundleFactory,
) -> None:
    target = 'format = "custom"\nkinds = { rule = "r.md" }\n'
    root = _bundle(make_bundle, target)
    assert _errors(root) == [
        f"{root / 'targets/notes.toml'}:2:1: error: 'kinds.rule' must be a table [PB001]"
    ]
    target = 'format = "custom"\n[kinds.rule]\npath = "r.md"\nfields = ["name"]\n'
    root = _bundle(make_bundle, target)
    assert _errors(root) == [
        f"{root / 'targets/notes.toml'}:4:1: error: 'fields' must be a table of canonical"
        ' field = "output key" (name, description, model, tools) [PB001]'
    ]


def test_a_template_that_is_not_utf8_is_located(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle, TARGET, {"targets/notes/command.md.j2": b"ok\n\xff\n"})
    (error,) = _errors(root)
    assert error.startswith(f"{root / 'targets/notes/command.md.j2'}:2:1: error: not UTF-8")


def test_a_template_folder_in_place_of_a_file_is_refused(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle, TARGET)
    (root / "targets/notes/rule.j2").unlink()
    (root / "targets/notes/rule.j2").mkdir()
    (error,) = _errors(root)
    assert error.startswith(f"{root / 'targets/notes/rule.j2'}:1:1: error: ")
    assert error.endswith("[PB006]")


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ('{"type": "object",\n  "required": [}\n', ":2:16: error: invalid JSON: Expecting value"),
        ("[1, 2]\n", ":1:1: error: a JSON Schema must be a JSON object"),
        (
            '{"type": "mapping"}\n',
            ":1:1: error: not a valid JSON Schema at type: 'mapping' is not valid",
        ),
        ("[" * 200 + "]" * 200, ":1:101: error: "),
    ],
)
def test_a_bad_schema_is_an_error_in_the_schema_file(
    make_bundle: BundleFactory, schema: str, expected: str
) -> None:
    root = _bundle(make_bundle, TARGET, {"targets/notes/command.schema.json": schema})
    (error,) = _errors(root)
    assert error.startswith(f"{root / 'targets/notes/command.schema.json'}{expected}")


def test_a_template_linked_from_outside_targets_is_refused(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.j2"
    outside.write_text("{{ body }}", encoding="utf-8")
    root = _bundle(make_bundle, TARGET)
    (root / "targets/notes/rule.j2").unlink()
    (root / "targets/notes/rule.j2").symlink_to(outside)
    assert _errors(root) == [
        f"{root / 'targets/notes.toml'}:9:1: error: 'template' must name a file inside "
        "targets/, got 'rule.j2' [PB001]"
    ]
