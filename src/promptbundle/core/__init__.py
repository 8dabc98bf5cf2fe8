"""The data model and what every layer shares: errors, YAML, Markdown, files, git."""
