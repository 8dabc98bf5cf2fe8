"""Builds under hostile conditions: killed at any moment, racing each other."""
