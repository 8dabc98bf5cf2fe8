"""Rendered diffs between revisions, provenance (explain) and check."""
