"""Import: existing agent files become sources whose build writes them back byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.cli import main
from promptbundle.commands.import_ import run_import_command as import_command
from promptbundle.core.errors import UsageError
from promptbundle.core.frontmatter import read_metadata
from promptbundle.core.roundtrip import escape_body, restore_native, split_layout
from promptbundle.formats.registry import Unsupported, detect_format
from promptbundle.importing.check import check_import, first_difference
from promptbundle.importing.convert import convert_file
from tests.support import BundleFactory, write_tree

ALL_TARGETS = (
    'name = "demo"\nversion = "1.0.0"\ntargets = ["claude-code", "claude-plugin", "opencode", '
    '"skill-table", "agent-skill", "copilot", "cursor"]\n'
)
# Skill, command and rule formats take agents only when their target file says so.
CONVERT_AGENTS = 'convert = ["agent"]\n'

UNKNOWN_NOPE = (
    "unknown format 'nope' (formats: agent-skill, agents-md, claude-code, claude-plugin, cline,"
    " codex, copilot, cursor, devin, gemini, kiro, opencode, roo, skill-table)"
)

CLAUDE = b"---\nname: reviewer\ndescription: Reviews code\ntools: Read, Grep\nmodel: sonnet\n---\n"


def roundtrip(tmp_path: Path, name: str, data: bytes, fmt: str | None = None) -> tuple[str, bytes]:
    """Import one file into a fresh bundle (its source in its kind's folder), build it,
    return (prompt source, native output)."""
    original = write_tree(tmp_path / "in", {name: data}) / name
    agent = convert_file(original, data, format_name=fmt)
    root = write_tree(
        tmp_path / "bundle",
        {"promptbundle.toml": ALL_TARGETS, agent.source_rel: agent.text.encode()},
    )
    result = build_outputs(load(root))
    [output] = [o for o in result.outputs if o.target == agent.format and o.agent == agent.label]
    return agent.text, output.content


# -- byte-exact round trips ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("case", "data"),
    [
        ("plain", CLAUDE + b"# Reviewer\n\nBe kind.\n"),
        ("crlf", (CLAUDE + b"# Reviewer\n\nBe kind.\n").replace(b"\n", b"\r\n")),
        ("lone-cr", CLAUDE + b"one\rtwo\nthree\r\n\r\rfour\n"),
        ("crlf-and-lone-cr", (CLAUDE + b"a\n").replace(b"\n", b"\r\n") + b"b\rc\r\n"),
        ("mixed-endings", CLAUDE + b"a\r\nb\nc\r\n"),
        ("bom", b"\xef\xbb\xbf" + CLAUDE + b"body\n"),
        ("no-final-newline", CLAUDE + b"body without newline"),
        ("many-final-newlines", CLAUDE + b"body\n\n\n"),
        ("only-frontmatter", CLAUDE),
        ("frontmatter-without-newline", CLAUDE.rstrip(b"\n")),
        ("tabs-unicode", CLAUDE + "\tindented — ünïcödé ✓ 🎭\n\u2028x\x0cy\n".encode()),
        ("code-fence-dashes", CLAUDE + b"```yaml\n---\nkey: 1\n---\n```\n"),
        ("example-tags", CLAUDE + b"<example>\nuser: hi\n</example>\n"),
        ("liquid", CLAUDE + b"{{ product.title }} {% for x in y %}{{x}}{% endfor %} {# c #}\n"),
        ("unclosed-comment", CLAUDE + b"Svelte {#if cond} without a close\n"),
        ("endraw-in-body", CLAUDE + b"{% raw %}a{% endraw %} b {%- endraw -%} {%endraw%}\n"),
        ("block-tags", CLAUDE + b"{%- if x -%}{{- y -}}{%+ z +%}\n"),
        ("trailing-spaces", CLAUDE + b"line with spaces   \n   \n"),
    ],
)
def test_import_round_trips_byte_for_byte(tmp_path: Path, case: str, data: bytes) -> None:
    _, output = roundtrip(tmp_path, f"{case}.md", data)
    assert output == data


def test_import_records_crlf_and_stores_lf(tmp_path: Path) -> None:
    data = (CLAUDE + b"body\n").replace(b"\n", b"\r\n")
    source, output = roundtrip(tmp_path, "reviewer.md", data)
    assert "newline: crlf" in source
    assert "\r" not in source
    assert output == data


def test_import_escapes_lone_cr_as_an_expression(tmp_path: Path) -> None:
    data = CLAUDE + b"a\rb\n"
    source, output = roundtrip(tmp_path, "reviewer.md", data)
    assert '{{ "\\r" }}' in source
    assert "\r" not in source
    assert output == data


def test_import_records_bom_and_missing_final_newline(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + CLAUDE + b"end"
    source, output = roundtrip(tmp_path, "reviewer.md", data)
    assert "bom: true" in source
    assert "trailing-newlines: 0" in source
    assert output == data


def test_import_keeps_odd_frontmatter_verbatim(tmp_path: Path) -> None:
    data = (
        b"---\n# a comment\nname: 'reviewer'   # trailing\ndescription: >\n  Folded\n"
        b"  text\ntools:   [Read,Grep]\n---\nbody\n"
    )
    source, output = roundtrip(tmp_path, "reviewer.md", data)
    assert output == data
    assert 'description: "Folded text\\n"' in source


def test_import_header_with_lone_cr_is_quoted(tmp_path: Path) -> None:
    data = b"---\nname: reviewer\ndescription: a\rb\n---\nbody\n"
    source, output = roundtrip(tmp_path, "reviewer.md", data)
    assert 'header: "---\\nname: reviewer\\ndescription: a\\rb\\n---\\n"' in source
    assert output == data


def test_escape_body_renders_to_the_same_text() -> None:
    env = jinja2.Environment(keep_trailing_newline=True)
    for text in [
        "{{ x }} {% if %} {# c",
        "a{% endraw %}b{%-endraw%}{%+ endraw +%}",
        "\r\r\n\n",
        "{% raw %}{{ nested }}{% endraw %}",
        "",
    ]:
        assert env.from_string(escape_body(text)).render() == text


def test_restore_native_replaces_trailing_newlines() -> None:
    layout = split_layout("---\na: 1\n---\nbody\n\n", len("---\na: 1\n---\n"))
    assert layout.trailing_newlines == 2
    assert restore_native(layout.record(), "body\n") == "---\na: 1\n---\nbody\n\n"


# -- tolerant frontmatter -----------------------------------------------------------------
def test_import_reads_frontmatter_pyyaml_rejects(tmp_path: Path) -> None:
    data = (
        b"---\ndescription: Ruby rules\nglobs: **/*.rb, app/**/*.rb\nalwaysApply: false\n---\nx\n"
    )
    source, output = roundtrip(tmp_path, "ruby.mdc", data)
    assert output == data
    assert 'globs: "**/*.rb, app/**/*.rb"' in source
    assert "alwaysApply: false" in source


def test_import_reads_unquoted_colon_in_description(tmp_path: Path) -> None:
    data = b"---\nname: helper\ndescription: Use when: the user asks\nmodel: opus\n---\nx\n"
    agent = convert_file(tmp_path / "helper.md", data)
    assert 'description: "Use when: the user asks"' in agent.text
    assert "model: opus" in agent.text
    assert agent.lossy == ("frontmatter is not valid YAML for PyYAML; fields read tolerantly",)
    _, output = roundtrip(tmp_path, "helper.md", data)
    assert output == data


def test_tolerant_reader_handles_lists_and_block_scalars() -> None:
    fields, strict = read_metadata("a: **/x\nitems:\n  - one\n  - 'two'\nlong: |\n  l1\n  l2\n")
    assert strict is False
    assert fields == {"a": "**/x", "items": ["one", "two"], "long": "l1\nl2"}


# -- ids and canonical metadata -----------------------------------------------------------
def test_import_derives_id_from_file_name_and_keeps_native_name(
    tmp_path: Path, make_bundle: BundleFactory
) -> None:
    data = b"---\nname: Backend Python Expert\ndescription: Backend\nmode: subagent\n---\nHi\n"
    original = write_tree(tmp_path / "in", {"backend-python-expert.md": data})
    root = make_bundle({"promptbundle.toml": ALL_TARGETS})
    import_command([original / "backend-python-expert.md"], root=root)
    result = build_outputs(load(root))
    by_target = {o.target: o.content for o in result.outputs if o.agent}
    assert by_target["opencode"] == data
    assert b"name: backend-python-expert\n" in by_target["claude-code"]
    assert result.errors == []


def test_import_gives_duplicate_ids_a_suffix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no bundle config above: the default targets judge
    files = write_tree(tmp_path, {"a/x.md": CLAUDE, "b/x.md": CLAUDE})
    out = tmp_path / "bundle"
    import_command([files / "a/x.md", files / "b/x.md"], into=out, root=None)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "agents",
        "agents/reviewer-2.md",
        "agents/reviewer.md",
    ]


def test_import_maps_claude_tools_and_tier_to_canonical_fields(tmp_path: Path) -> None:
    agent = convert_file(tmp_path / "r.md", CLAUDE + b"x\n")
    assert "tools:\n  - Read\n  - Grep\n" in agent.text
    assert "model: sonnet\n" in agent.text
    assert agent.format == "claude-code"
    assert agent.lossy == ()


def test_import_reports_unmappable_fields_as_lossy(tmp_path: Path) -> None:
    data = b"---\nname: a\ndescription: d\ntools: ['codebase']\nmodel: GPT-4.1\n---\nx\n"
    agent = convert_file(tmp_path / "a.agent.md", data)
    assert agent.format == "copilot"
    assert agent.lossy == (
        "model: 'GPT-4.1' is not a tier (haiku, inherit, opus, sonnet)",
        "tools: copilot tool names are not mapped to other targets",
    )
    assert "copilot:\n  model: GPT-4.1\n" in agent.text


def test_import_generates_a_description_when_missing(tmp_path: Path) -> None:
    data = b"---\ndescription:\nglobs:\nalwaysApply: false\n---\nPENDING"
    agent = convert_file(tmp_path / "quarkus.mdc", data)
    assert "description: Imported from quarkus.mdc" in agent.text
    assert agent.lossy == (
        "description: missing, other targets get a generated one",
        "globs: only cursor reads it",
        "alwaysApply: only cursor reads it",
    )
    _, output = roundtrip(tmp_path, "quarkus.mdc", data)
    assert output == data


# -- detection ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        (".claude/agents/a.md", CLAUDE, "claude-code"),
        (
            "plugin/agents/a.md",
            b"---\nname: a\ndescription: d\ncapabilities: [x]\n---\n",
            "claude-plugin",
        ),
        (".opencode/agent/a.md", b"---\ndescription: d\n---\n", "opencode"),
        ("agents/a.md", b"---\ndescription: d\nmode: subagent\n---\n", "opencode"),
        ("skills/a/SKILL.md", b"---\nname: a\ndescription: d\n---\n", "agent-skill"),
        ("a.agent.md", b"---\ndescription: d\n---\n", "copilot"),
        ("a.chatmode.md", b"---\ndescription: d\n---\n", "copilot"),
        ("a.prompt.md", b"---\ndescription: d\n---\n", "copilot"),
        ("a.instructions.md", b"---\napplyTo: '**'\n---\n", "copilot"),
        (".cursor/rules/a.mdc", b"---\nglobs: **/*\n---\n", "cursor"),
        (".cursor/rules/a.md", b"---\nauthor: x\n---\n", "cursor"),
        (".kiro/steering/a.md", b"---\ninclusion: always\n---\n", "kiro"),
        (".kiro/steering/a.md", b"Plain steering.\n", "kiro"),
        (".kiro/agents/a.json", b"{}", "kiro"),
        (".codex/agents/a.toml", b"", "codex"),
        (".gemini/commands/a.toml", b"", "gemini"),
        (".devin/agents/a/AGENT.md", b"---\nname: a\ndescription: d\n---\n", "devin"),
        (".clinerules/a.md", b"Plain rule.\n", "cline"),
        (".roo/commands/a.md", b"---\ndescription: d\n---\n", "roo"),
        ("AGENTS.md", b"Plain rules.\n", "agents-md"),
        ("a.txt", b"| name | a |\n| description | d |\nbody\n", "skill-table"),
    ],
)
def test_detect_format_from_name_location_and_keys(path: str, data: bytes, expected: str) -> None:
    assert detect_format(Path(path), data.decode()) == expected


@pytest.mark.parametrize(
    ("path", "data", "reason"),
    [
        ("plugin.json", b"{}", ".json file extension"),
        ("GEMINI.md", b"# Notes\n", "no frontmatter and no skill table"),
        ("commands/go.md", b"---\ndescription: d\n---\n", "a command, not an agent"),
        ("notes.md", b"---\ntitle: x\n---\n", "frontmatter has no name and description"),
    ],
)
def test_detect_format_refuses_unsupported_files(path: str, data: bytes, reason: str) -> None:
    with pytest.raises(Unsupported) as caught:
        detect_format(Path(path), data.decode())
    assert str(caught.value) == f"unsupported format ({reason})"


def test_convert_refuses_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(Unsupported) as caught:
        convert_file(tmp_path / "a.md", b"---\nname: a\xff\n---\n")
    assert str(caught.value) == "unsupported format (not UTF-8 text, byte 11)"


def test_forced_format_without_frontmatter_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(Unsupported) as caught:
        convert_file(tmp_path / "a.md", b"plain\n", format_name="claude-code")
    assert str(caught.value) == "not a claude-code file (no `---` frontmatter)"


def test_skill_table_round_trips(tmp_path: Path) -> None:
    data = b"| name | python-engineer |\n| description | Role \\| skill |\nRule\n\nMore\n"
    source, output = roundtrip(tmp_path, "engineer.txt", data)
    assert output == data
    assert "description: Role | skill" in source


def test_forced_format_overrides_detection(tmp_path: Path) -> None:
    agent = convert_file(tmp_path / "a.md", CLAUDE, format_name="opencode")
    assert agent.format == "opencode"


# -- refactoring and builds ---------------------------------------------------------------
def test_imported_body_moved_into_a_fragment_builds_the_same_bytes(tmp_path: Path) -> None:
    data = (CLAUDE + b"Intro {{ liquid }}\r\n\r\nRules\r\n").replace(b"\n---\n", b"\n---\n")
    data = data.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
    original = write_tree(tmp_path / "in", {"reviewer.md": data}) / "reviewer.md"
    agent = convert_file(original, data)
    head, body = agent.text.split("---\n{% raw %}", 1)
    root = write_tree(
        tmp_path / "bundle",
        {
            "promptbundle.toml": ALL_TARGETS,
            "agents/reviewer.md": head + '---\n{{ fragment("reviewer-body") }}',
            "fragments/reviewer-body.md": "{% raw %}" + body,
        },
    )
    result = build_outputs(load(root))
    [output] = [o for o in result.outputs if o.target == "claude-code"]
    assert output.content == data
    assert output.sources == (
        "agents/reviewer.md",
        "fragments/reviewer-body.md",
        "promptbundle.toml",
    )


def test_agents_without_import_build_as_before(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/a.md": "---\nname: a\ndescription: d\n---\nBody\n"})
    result = build_outputs(load(root))
    targets = sorted({o.target for o in result.outputs if o.agent})
    # The default skill targets (agent-skill, skill-table) carry skills only.
    assert targets == ["claude-code", "claude-plugin", "opencode"]
    [claude] = [o for o in result.outputs if o.target == "claude-code"]
    assert claude.content == b"---\nname: a\ndescription: d\n---\nBody\n"


def test_new_formats_write_their_own_paths_and_fields(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": ALL_TARGETS,
            "agents/a.md": "---\nname: a\ndescription: d\ntools: [Read]\n---\nBody\n",
            "rules/r.md": "---\ncursor: {globs: '*.py'}\n---\nBody\n",
        }
    )
    outputs = {o.path: o.content for o in build_outputs(load(root)).outputs}
    assert outputs["copilot/agents/a.agent.md"] == (
        b"---\nname: a\ndescription: d\ntools:\n  - Read\n---\nBody\n"
    )
    assert outputs["cursor/rules/r.mdc"] == b'---\nglobs: "*.py"\n---\nBody\n'


def test_copilot_exposes_its_agent_body_limit() -> None:
    from promptbundle.formats.registry import FORMATS

    assert FORMATS["copilot"].body_limit == 30_000


# -- check ---------------------------------------------------------------------------------
def test_check_reports_exact_and_unsupported(tmp_path: Path) -> None:
    files = write_tree(
        tmp_path,
        {
            "a/reviewer.md": CLAUDE + b"x\r\n",
            "a/b.mdc": b"---\nglobs: **\n---\n",
            "a/p.json": b"{}",
        },
    )
    report = check_import([files / "a"])
    assert report.summary == "exact 2/2 supported, 1 unsupported, 0 narrowed"
    assert report.exit_code == 0
    assert report.lines() == [
        f"{files / 'a' / 'p.json'}: unsupported format (.json file extension)"
    ]


def test_check_reports_a_failure_with_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import promptbundle.importing.check as import_check

    monkeypatch.setattr(import_check, "build_native", lambda *args: (CLAUDE + b"y\n", None))
    path = write_tree(tmp_path, {"r.md": CLAUDE + b"x\n"}) / "r.md"
    report = check_import([path])
    assert report.exit_code == 1
    assert report.as_json()["failures"] == [
        {
            "path": str(path),
            "format": "claude-code",
            "reason": f"output differs at byte {len(CLAUDE)}: expected b'x\\n', got b'y\\n'"
            f" ({len(CLAUDE) + 2} vs {len(CLAUDE) + 2} bytes)",
            "offset": len(CLAUDE),
        }
    ]
    assert report.lines() == [
        f"{path}: claude-code: output differs at byte {len(CLAUDE)}: expected b'x\\n',"
        f" got b'y\\n' ({len(CLAUDE) + 2} vs {len(CLAUDE) + 2} bytes)"
    ]
    assert report.summary == "exact 0/1 supported, 0 unsupported, 0 narrowed"


def test_first_difference_handles_prefixes() -> None:
    assert first_difference(b"abc", b"abc") is None
    assert first_difference(b"abc", b"abd") == 2
    assert first_difference(b"ab", b"abc") == 2


def test_import_command_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        import_command([tmp_path], format_name="nope", check=True)
    assert caught.value.message == UNKNOWN_NOPE


# -- CLI ----------------------------------------------------------------------------------
def test_cli_import_check_prints_summary_and_json(tmp_path: Path) -> None:
    # A body, so that no format narrows it (codex needs instructions).
    files = write_tree(tmp_path, {"r.md": CLAUDE + b"Review.\n", "n.json": b"{}"})
    runner = CliRunner()
    result = runner.invoke(main, ["import", "--check", str(files / "r.md"), str(files / "n.json")])
    assert result.exit_code == 0
    assert result.stdout == "exact 1/1 supported, 1 unsupported, 0 narrowed\n"
    assert result.stderr == f"{files / 'n.json'}: unsupported format (.json file extension)\n"
    result = runner.invoke(main, ["import", "--check", "--json", str(files / "r.md")])
    assert json.loads(result.stdout) == {
        "command": "import",
        "exit_code": 0,
        "message": "exact 1/1 supported, 0 unsupported, 0 narrowed",
        "diagnostics": [],
        "files": 1,
        "supported": 1,
        "exact": 1,
        "unsupported": 0,
        "narrowed": 0,
        "failures": [],
        "unsupported_files": [],
        "narrowed_files": [],
    }


def test_cli_import_writes_agents_into_the_bundle(make_bundle: BundleFactory) -> None:
    root = make_bundle({"in/reviewer.md": CLAUDE + b"x\n"})
    runner = CliRunner()
    result = runner.invoke(main, ["import", "--root", str(root), str(root / "in/reviewer.md")])
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 1 file(s), 0 unsupported; 0 lossy note(s)\n"
    assert (root / "agents" / "reviewer.md").is_file()
    build = runner.invoke(main, ["build", "--root", str(root)])
    assert build.exit_code == 0, build.output
    assert (root / "dist/claude-code/agents/reviewer.md").read_bytes() == CLAUDE + b"x\n"


@pytest.mark.parametrize("with_bundle", [True, False], ids=["bundle", "no-bundle"])
def test_import_without_into_writes_into_the_bundle_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_bundle: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"in/reviewer.md": CLAUDE + b"x\n"})
    if with_bundle:
        write_tree(tmp_path, {"promptbundle.toml": ALL_TARGETS})
    import_command([Path("in/reviewer.md")], root=tmp_path if with_bundle else None)
    assert sorted(p.as_posix() for p in Path("agents").rglob("*")) == ["agents/reviewer.md"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import"], "give at least one file or folder to import"),
        (
            ["import", "--check", "--format", "nope", "x"],
            UNKNOWN_NOPE,
        ),
        (["import", "--check", "missing-file"], "no such file or folder: missing-file"),
    ],
)
def test_cli_import_usage_errors_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").write_bytes(CLAUDE)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert (result.stdout, result.stderr) == ("", f"error: {message}\n")


# -- shared inputs, read in place ----------------------------------------------------------
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="../shared/seeds is absent")
def test_seeds_round_trip_byte_for_byte() -> None:
    report = check_import([SHARED / "seeds"])
    assert report.lines() == []
    assert report.summary == "exact 5/5 supported, 0 unsupported, 0 narrowed"


@pytest.mark.skipif(
    not (SHARED / "corpus" / "public").is_dir(), reason="../shared/corpus/public is absent"
)
def test_public_corpus_round_trips_at_least_98_percent() -> None:
    report = check_import([SHARED / "corpus" / "public"])
    assert report.supported >= 80
    assert report.count("exact") >= 0.98 * report.supported, report.lines()


def test_imported_frontmatter_pyyaml_rejects_still_validates(
    tmp_path: Path, make_bundle: BundleFactory
) -> None:
    data = b"---\nname: helper\ndescription: Use when: the user asks\n---\nx\n"
    original = write_tree(tmp_path / "in", {"helper.md": data}) / "helper.md"
    root = make_bundle({"promptbundle.toml": ALL_TARGETS})
    import_command([original], root=root)
    result = build_outputs(load(root))
    assert result.errors == []
    [claude] = [o for o in result.outputs if o.target == "claude-code"]
    assert claude.content == data


def test_an_opencode_agent_with_tools_switched_off_keeps_the_restriction_for_other_targets(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".opencode/agent/reviewer.md"
    text = (
        "---\ndescription: Reviews code\nmode: subagent\n"
        "tools:\n  write: false\n  edit: false\n  mcp_github: false\n"
        "permission:\n  bash: deny\n---\nReview.\n"
    )
    agent = convert_file(path, text.encode())
    assert agent.fields["tools"] == [
        "Read",
        "Grep",
        "Glob",
        "LS",
        "WebFetch",
        "WebSearch",
        "TodoWrite",
        "TodoRead",
        "Task",
        "Skill",
    ]
    assert "tools.mcp_github: no canonical tool; other targets cannot limit it" in agent.lossy
