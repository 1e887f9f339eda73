"""Experiments: versioned YAML specs in the user's git repository, sweeps, results (the top floor)."""
