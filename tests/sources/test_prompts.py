"""Prompt sources: escapes in frontmatter survive into outputs every reader can read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


# A FIFO put in place of a source after its type was checked: the reader opens it without
# blocking and refuses it. Run in a subprocess, so a hang would fail the test.
RACE = """
import os, sys
from pathlib import Path
import promptbundle.sources.config as config
import promptbundle.sources.prompts as prompts
from promptbundle.core.errors import PromptBundleError

config.irregular_reason = prompts.irregular_reason = lambda path, root=None: None
pipe = Path(sys.argv[1])
os.mkfifo(pipe)
for read in (prompts.read_source, config.read_toml):
    try:
        read(pipe)
    except PromptBundleError as err:
        print(*err.lines())
"""


def test_a_fifo_swapped_in_after_the_type_check_is_refused_without_blocking(
    tmp_path: Path,
) -> None:
    pipe = tmp_path / "x.md"
    done = subprocess.run(
        [sys.executable, "-c", RACE, str(pipe)],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert done.stdout.splitlines() == [
        f"{pipe}:1:1: error: cannot read: {pipe} is not a regular file [PB006]",
        f"{pipe}:1:1: error: cannot read: {pipe} is not a regular file [PB006]",
    ]
