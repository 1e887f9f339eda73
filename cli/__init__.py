"""The ``labrun`` command line: submit, watch, show, export, and the worker/API/fake-LLM processes."""
