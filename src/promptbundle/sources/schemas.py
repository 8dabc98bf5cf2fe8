"""JSON Schemas of the sources, for editors: promptbundle.toml, targets/<name>.toml and prompt
frontmatter. Shipped in the package (sources/schemas/) and written by every build into the
output folder's `schemas/`, where the sources `promptbundle init` writes point their editors."""

from __future__ import annotations

from importlib import resources

__all__ = ["SCHEMA_FOLDER", "SOURCE_SCHEMAS", "source_schema"]

SCHEMA_FOLDER = "schemas"
SOURCE_SCHEMAS = ("promptbundle.schema.json", "prompt.schema.json", "target.schema.json")


def source_schema(name: str) -> bytes:
    """The bytes of one of SOURCE_SCHEMAS."""
    if name not in SOURCE_SCHEMAS:
        raise KeyError(name)
    return (resources.files("promptbundle.sources") / "schemas" / name).read_bytes()
