"""promptbundle: compose agent prompts from shared fragments; compile them into every format."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
