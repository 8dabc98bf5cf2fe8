"""Prompt sources: escapes in frontmatter survive into outputs every reader can read."""

from __future__ import annotations

import pytest
import yaml
from ruamel.yaml import YAML

from promptbundle.build.pipeline import build_outputs, load
from tests.support import BundleFactory

CONFIG = 'name = "demo"\ntargets = ["claude-code", "opencode"]\n'


@pytest.mark.parametrize("escape", ["\\ufffe", "\\uffff", "\\x85", "\\x7f", "\\u2028", "\\0"])
def test_an_escaped_non_printable_in_a_description_reads_back_from_every_output(
    make_bundle: BundleFactory, escape: str
) -> None:
    text = f'---\nname: x\ndescription: "a{escape}b"\n---\nBody\n'
    root = make_bundle({"promptbundle.toml": CONFIG, "agents/x.md": text})
    expected = yaml.safe_load(f'd: "a{escape}b"')["d"]
    outputs = [o for o in build_outputs(load(root)).outputs if o.agent == "x"]
    assert {o.target for o in outputs} == {"claude-code", "opencode"}
    for output in outputs:
        header = output.content.decode("utf-8").split("---\n")[1]
        assert yaml.safe_load(header)["description"] == expected
        assert YAML(typ="safe", pure=True).load(header)["description"] == expected
