"""Reproducible release archives, verification and installs."""
