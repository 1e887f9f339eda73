"""Model aliases (models.yaml): provider, model id, prices and rate limits."""
