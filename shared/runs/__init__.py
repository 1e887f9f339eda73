"""Run use cases shared by the API and the CLI: create, dispatch, read progress, cancel."""
