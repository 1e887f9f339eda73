"""Export a run as a self-contained directory ``<out_dir>/<run_id>/``::

    inputs/    the use case's files (assign-cat: products.json, taxonomy.txt), prompt_templates.json
    config/    models.yaml, run_config.json, system_info.json      (redacted: no secrets)
    outputs/   classifications.csv, token_usage.json, timing.json, errors.log
    metadata/  run_summary.json
    raw/       the raw provider responses (``include_raw=True`` only)
    predictions.<fmt>, metrics.<fmt>, run.json   tables for DuckDB and pandas (``tables=fmt`` only)

The database is read in one REPEATABLE READ transaction (a consistent snapshot even while the run
is still going) with large tables streamed through server-side cursors. The directory is built
under a temporary name, checked for secret values, then renamed into place.
"""

from __future__ import annotations

import os
import secrets as _secrets
import shutil
import tempfile
from pathlib import Path

from labrun.shared.core.errors import NotFound
from labrun.shared.runs.export.common import Export, ExportError, env_secrets, find_secret, redact
from labrun.shared.runs.export.configs import write_configs
from labrun.shared.runs.export.inputs import write_inputs
from labrun.shared.runs.export.outputs import write_outputs
from labrun.shared.runs.export.summary import copy_raw, summary_data, write_summary
from labrun.shared.runs.export.tables import TableFormat, write_tables
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import session_scope

__all__ = ["ExportError", "export_run", "redact"]


def _check_run_id(run_id: str) -> None:
    if not run_id or run_id in (".", "..") or Path(run_id).name != run_id or "\\" in run_id:
        raise ValueError(f"run id {run_id!r} is not usable as a directory name")


def _publish(tmp: Path, final: Path) -> None:
    """Move the finished export into place, replacing an older export of the same run."""
    if not final.exists():
        os.replace(tmp, final)
        return
    old = final.with_name(f".{final.name}.old-{_secrets.token_hex(4)}")
    os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def export_run(
    run_id: str, out_dir: Path, *, include_raw: bool = False, tables: TableFormat | None = None
) -> Path:
    """Write the run directory ``out_dir/<run_id>/`` and return its path.

    Raises :class:`labrun.shared.core.errors.NotFound` for an unknown run and :class:`ExportError` if a secret
    value (of an ``*_KEY``/``*_TOKEN``/... environment variable) would end up in the export.
    """
    _check_run_id(run_id)
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    secret_values = env_secrets()
    tmp = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".{run_id}.tmp-"))
    try:
        tmp.chmod(0o755)
        with session_scope() as session:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            run = session.get(Run, run_id)
            if run is None:
                raise NotFound(run_id)
            ex = Export(session=session, run=run, root=tmp, secrets=secret_values)
            write_inputs(ex)
            about = write_configs(ex)
            outputs = write_outputs(ex)
            if tables is not None:
                write_tables(ex, tables, about)
            data = summary_data(ex, about, outputs)
        n_raw = None
        if include_raw:
            from labrun.shared.storage.artifacts import get_store

            n_raw = copy_raw(ex, get_store())
        write_summary(ex, data, n_raw)
        leak = find_secret(tmp, secret_values)
        if leak is not None:
            path, _ = leak
            raise ExportError(f"refusing to export: a secret value appears in {path.relative_to(tmp)}")
        final = out_dir / run_id
        _publish(tmp, final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
