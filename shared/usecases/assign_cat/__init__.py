"""Assign-cat use case: taxonomy, prompt rendering, answer parsing, scoring and catalog reading."""
