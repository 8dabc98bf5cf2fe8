"""The published source schemas say what the loaders accept: same keys, same patterns, and
every source of this repository and of a new bundle is valid against them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from promptbundle.commands.build import run_build
from promptbundle.commands.init import MODELINE, run_init
from promptbundle.core.frontmatter import split_frontmatter
from promptbundle.core.model import ID_PATTERN, VERSION_PATTERN
from promptbundle.core.yamlio import load_yaml
from promptbundle.sources import config as config_module
from promptbundle.sources.prompts import CANONICAL_KEYS
from promptbundle.sources.schemas import SOURCE_SCHEMAS, source_schema

REPO = Path(__file__).resolve().parents[2]


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(source_schema(name))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _errors(name: str, instance: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(_schema(name))
    return sorted(error.message for error in validator.iter_errors(instance))


def _frontmatter(path: Path) -> dict[str, Any]:
    front, _, _ = split_frontmatter(path.read_text(encoding="utf-8"))
    meta = load_yaml(front) if front else {}
    assert isinstance(meta, dict)
    return meta


def test_the_schemas_know_the_keys_and_patterns_the_loaders_know() -> None:
    bundle, target = _schema("promptbundle.schema.json"), _schema("target.schema.json")
    assert set(bundle["properties"]) == config_module._BUNDLE_KEYS
    assert set(target["properties"]) == config_module._TARGET_KEYS
    kind = target["properties"]["kinds"]["additionalProperties"]
    assert set(kind["properties"]) == config_module._KIND_KEYS
    assert set(_schema("prompt.schema.json")["properties"]) == set(CANONICAL_KEYS)
    assert bundle["properties"]["name"]["pattern"] == ID_PATTERN.pattern
    assert bundle["properties"]["version"]["pattern"] == VERSION_PATTERN.pattern


def test_this_repositorys_sources_are_valid() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    config = pyproject["tool"]["promptbundle"]
    assert _errors("promptbundle.schema.json", config) == []
    targets = sorted((REPO / "targets").glob("*.toml"))
    assert targets
    for path in targets:
        assert _errors("target.schema.json", tomllib.loads(path.read_text())) == [], path
    prompts = [
        p for folder in ("agents", "commands", "rules") for p in (REPO / folder).rglob("*.md")
    ]
    assert len(prompts) >= 7
    for path in prompts:
        assert _errors("prompt.schema.json", _frontmatter(path)) == [], path


@pytest.mark.parametrize(
    ("name", "instance", "message"),
    [
        ("promptbundle.schema.json", {"name": "b", "tagets": []}, "Additional properties"),
        ("promptbundle.schema.json", {"name": "Bad Name"}, "does not match"),
        ("promptbundle.schema.json", {"version": "1.0.0"}, "'name' is a required property"),
        ("target.schema.json", {"convert": ["agents"]}, "is not one of"),
        ("target.schema.json", {"models": {"opus": 1}}, "is not of type 'string'"),
        ("prompt.schema.json", {"suppress": ["W1"]}, "does not match"),
        ("prompt.schema.json", {"claude-code": "x"}, "is not of type 'object', 'null'"),
    ],
)
def test_the_schemas_reject_what_the_loaders_reject(
    name: str, instance: dict[str, Any], message: str
) -> None:
    assert any(message in error for error in _errors(name, instance))


def test_a_build_writes_the_schemas_where_a_new_bundles_sources_point(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    run_init(root)
    run_build(root)
    assert sorted(p.name for p in (root / "dist/schemas").iterdir()) == sorted(SOURCE_SCHEMAS)
    for name in SOURCE_SCHEMAS:
        assert (root / "dist/schemas" / name).read_bytes() == source_schema(name)
    reviewer = root / "agents/reviewer.md"
    assert MODELINE in reviewer.read_text()
    schema_path = MODELINE.split("$schema=", 1)[1].strip()
    assert (reviewer.parent / schema_path).resolve() == root / "dist/schemas/prompt.schema.json"
    config_text = (root / "promptbundle.toml").read_text()
    assert config_text.startswith("#:schema ./dist/schemas/promptbundle.schema.json\n")
    assert _errors("promptbundle.schema.json", tomllib.loads(config_text)) == []
    for path in [reviewer, root / "commands/review.md"]:
        assert _errors("prompt.schema.json", _frontmatter(path)) == [], path


def test_the_schemas_are_not_outputs_and_a_build_refreshes_them(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    run_init(root)
    built = run_build(root)
    assert built.summary.startswith("built 11 outputs for 3 prompts")
    manifest = json.loads((root / "dist/manifest.json").read_text())
    assert not [e for e in manifest["outputs"] if e["path"].startswith("schemas/")]
    stale = root / "dist/schemas/prompt.schema.json"
    stale.write_text("{}")
    (root / "agents/reviewer.md").write_text(
        (root / "agents/reviewer.md").read_text() + "\nOne more rule.\n"
    )
    assert run_build(root, check=True).exit_code == 1  # the agent, not the schema
    run_build(root)
    assert stale.read_bytes() == source_schema("prompt.schema.json")
    assert run_build(root, check=True).exit_code == 0


def test_a_target_may_not_be_named_schemas(tmp_path: Path) -> None:
    from promptbundle.build.pipeline import read_config
    from promptbundle.core.errors import PromptBundleError

    (tmp_path / "promptbundle.toml").write_text('name = "b"\ntargets = ["schemas"]\n')
    with pytest.raises(PromptBundleError) as caught:
        read_config(tmp_path)
    assert caught.value.lines() == [
        f"{tmp_path / 'promptbundle.toml'}:2:1: error: target name 'schemas' is reserved (the"
        " output folder's schemas/ holds the JSON Schemas of the sources) [PB001]"
    ]
