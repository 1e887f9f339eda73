"""Export a run as a directory (inputs, config, outputs, metadata, optional raw responses).

The implementation lives in :mod:`shared.export`; this module is the entry point the CLI uses.
"""

from __future__ import annotations

from shared.export import ExportError, export_run, redact

__all__ = ["ExportError", "export_run", "redact"]
