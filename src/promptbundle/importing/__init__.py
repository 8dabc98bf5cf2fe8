"""Import existing prompt files as bundle sources, and check the round trip."""
