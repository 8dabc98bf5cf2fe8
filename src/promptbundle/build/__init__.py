"""Plan, render, validate and emit every output, once, for every caller."""
