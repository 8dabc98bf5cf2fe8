"""Plugins: `plugins/<name>/plugin.toml`, the metadata a plugin manifest is written from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from promptbundle.core.errors import ConfigError, Location, PromptBundleError, raise_collected
from promptbundle.core.model import ID_PATTERN, VERSION_PATTERN, Plugin
from promptbundle.sources.config import key_line_in, read_toml

__all__ = ["PLUGIN_FILE", "PLUGIN_KEYS", "load_plugin"]

PLUGIN_FILE = "plugin.toml"
# Strings, except `author` (a string or a table of name, email, url) and `keywords` (a list).
PLUGIN_KEYS = (
    "name",
    "version",
    "description",
    "author",
    "homepage",
    "repository",
    "license",
    "keywords",
    "category",
    "path",
)


def load_plugin(folder: Path) -> Plugin:
    """Read `folder/plugin.toml`; every problem in it is reported at once."""
    source = folder / PLUGIN_FILE
    table = read_toml(source)
    errors: list[PromptBundleError] = []

    def err(message: str, key: str) -> None:
        errors.append(ConfigError(message, Location(source, key_line_in(source, key), 1)))

    for key in sorted(set(table) - set(PLUGIN_KEYS)):
        err(f"unknown key {key!r} (known: {', '.join(PLUGIN_KEYS)})", key)
    name = _name(table, folder, err)
    _check_values(table, err)
    path = table.get("path", f"plugins/{name}")
    if isinstance(path, str) and not _is_relative(path):
        err(f"'path' must be a relative folder inside the marketplace, got {path!r}", "path")
    raise_collected(errors)
    manifest = {k: table[k] for k in PLUGIN_KEYS if k in table and k != "path"}
    manifest["name"] = name
    return Plugin(name=name, path=str(path), manifest=manifest, source=source)


def _name(table: dict[str, Any], folder: Path, err: Callable[[str, str], None]) -> str:
    """The plugin's name: an id, equal to its folder's name."""
    name = table.get("name", folder.name)
    if not isinstance(name, str) or not ID_PATTERN.match(name):
        err(f"'name' must be an id like 'my-plugin', got {name!r}", "name")
        return folder.name
    if name != folder.name:
        err(f"'name' {name!r} must be the plugin's folder name {folder.name!r}", "name")
    return name


def _check_values(table: dict[str, Any], err: Callable[[str, str], None]) -> None:
    """Version, strings, author and keywords of the right shape."""
    version = table.get("version")
    if version is not None and (not isinstance(version, str) or not VERSION_PATTERN.match(version)):
        err(f"'version' must be a semantic version like 1.2.3, got {version!r}", "version")
    for key in ("description", "homepage", "repository", "license", "category", "path"):
        if key in table and not isinstance(table[key], str):
            err(f"'{key}' must be a string", key)
    _check_author(table.get("author"), err)
    keywords = table.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        err("'keywords' must be a list of strings", "keywords")


def _check_author(author: Any, err: Callable[[str, str], None]) -> None:
    if author is None or isinstance(author, str):
        return
    if isinstance(author, dict) and all(
        key in ("name", "email", "url") and isinstance(value, str) for key, value in author.items()
    ):
        return
    err("'author' must be a string or a table of name, email and url", "author")


def _is_relative(path: str) -> bool:
    parts = path.split("/")
    return not path.startswith("/") and ".." not in parts and "\\" not in path
