"""A body without template syntax is not compiled: it renders to itself, as Jinja renders it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import promptbundle.render.environment as environment
from promptbundle.build.pipeline import build_outputs, load
from promptbundle.render.environment import make_env, plain_text
from tests.support import BundleFactory

HEADER = "---\nname: plain\ndescription: Plain agent\n---\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> environment.BundleEnvironment:
    root = tmp_path_factory.mktemp("bundle")
    (root / "promptbundle.toml").write_text('name = "demo"\nversion = "1.0.0"\n')
    (root / "agents").mkdir()
    (root / "agents/plain.md").write_text(HEADER + "# Plain\n")
    return make_env(load(root))


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200))
def test_jinja_renders_plain_text_as_it_is(env: environment.BundleEnvironment, text: str) -> None:
    if plain_text(text):
        assert env.from_string(text).render() == text


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("# Title\n\nText.\n", True),
        ("", True),
        ("{{ x }}", False),
        ("a {# comment #} b", False),
        ("line\r\nbreaks", False),
        ("x" * 1_000_001, False),
    ],
)
def test_plain_text(text: str, plain: bool) -> None:
    assert plain_text(text) is plain


def test_plain_bodies_build_the_same_bytes_without_compiling(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_bundle(
        {
            "agents/plain.md": HEADER + "# Plain\n\nNo template here: } % # alone.\n",
            "agents/crlf.md": (HEADER + "# Windows\r\n\r\nLines.\r\n").replace("plain", "crlf"),
            "agents/mixed.md": (HEADER + "# {{ prompt.name }}\n").replace("plain", "mixed"),
        }
    )
    fast = build_outputs(load(root))
    compiled: list[str] = []
    real = environment.BundleEnvironment.get_template

    def counting(self: environment.BundleEnvironment, name: object, *args: object) -> object:
        compiled.append(str(name))
        return real(self, name, *args)

    monkeypatch.setattr(environment.BundleEnvironment, "get_template", counting)
    again = build_outputs(load(root))
    assert "agents/plain.md" not in compiled
    assert {"agents/crlf.md", "agents/mixed.md"} <= set(compiled)
    monkeypatch.setattr(environment, "plain_text", lambda text: False)
    slow = build_outputs(load(root))
    assert "agents/plain.md" in compiled
    contents = [{o.path: o.content for o in r.outputs} for r in (fast, again, slow)]
    assert contents[0] == contents[1] == contents[2]
    assert any(b"No template here" in content for content in contents[0].values())
