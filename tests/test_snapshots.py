"""Every output of this repository's bundle, one snapshot file each (promptbundle.testing)."""

from __future__ import annotations

from typing import Any

from promptbundle.testing import BundleOutput


def test_output(bundle_output: BundleOutput, output_snapshot: Any) -> None:
    assert bundle_output.content == output_snapshot
