"""One module per command; each returns an Outcome."""
