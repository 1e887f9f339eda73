"""Code shared by the labrun API, workers and CLI: settings, database, schemas, storage, use cases."""
