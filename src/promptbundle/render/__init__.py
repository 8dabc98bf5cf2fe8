"""The one Jinja environment, fragments, and lints of templates."""
