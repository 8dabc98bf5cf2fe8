"""Loading a bundle: its config, targets and prompt sources."""
