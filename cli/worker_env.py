"""What the embedded worker was started with, so ``submit`` never uses a stale one: provider
endpoints, keys (by fingerprint: a key is never written down), the models file, labrun's settings
and the code itself. ``labrun submit`` compares the running worker's record with the current
environment and restarts the worker when they differ, saying what changed."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

RECORD = "worker.env.json"
SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def _digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def _variables() -> list[str]:
    """Provider endpoint and key variables (defaults and every alias's own), LABRUN_* settings."""
    from labrun.shared.core.catalog import load_catalog
    from labrun.shared.core.providers import WIRING

    names = {n for w in WIRING.values() for n in (*w.default_key_envs, w.default_base_url_env) if n}
    try:
        names |= {s.api_key_env for s in load_catalog().models.values() if getattr(s, "api_key_env", None)}
    except Exception:  # a broken models file is reported by submit itself
        pass
    return sorted(names | {k for k in os.environ if k.startswith("LABRUN_")})


def code_version() -> str:
    """The installed code: size and modification time of every module of the package."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:12]


def current() -> dict[str, str]:
    out = {"code": code_version()}
    for name in _variables():
        value = os.environ.get(name)
        if value is None:
            continue
        secret = any(word in name.upper() for word in SECRET_WORDS) or "://" in value and "@" in value
        out[name] = _digest(value) if secret else value
    models = os.environ.get("LABRUN_MODELS_FILE")
    if models and Path(models).is_file():
        out["models file content"] = _digest(Path(models).read_text(errors="replace"))
    return out


def write(home: Path, record: dict[str, str]) -> None:
    (home / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True))


def read(home: Path) -> dict[str, str] | None:
    try:
        return dict(json.loads((home / RECORD).read_text()))
    except (OSError, ValueError):
        return None


def differences(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Names of what changed (values are not shown: some are key fingerprints)."""
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
