"""Projects and their API keys.

A key reads ``lr_<id>_<secret>``: ``id`` is 12 hex characters, public (it names the key in lists
and in ``labrun keys revoke``); ``secret`` is 32 random bytes (256 bits), URL-safe base64. Only the
SHA-256 of the secret is stored: with that much entropy a fast hash is as safe as a slow one, and a
request pays one hash instead of a key-stretching function's tens of milliseconds (docs/security.md).
The key itself is returned once, by :func:`create_key`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from labrun.shared.core.errors import InputError, NotFound
from labrun.shared.storage.db.models import ApiKey, Project

PREFIX = "lr"
KEY = re.compile(r"^lr_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
TOUCH_EVERY = timedelta(seconds=60)  # last_used_at is written at most once a minute per key


@dataclass(frozen=True)
class Caller:
    """Who is asking. ``project_id`` None: no scope (the operator, or the API with auth off)."""

    project_id: int | None
    project: str | None = None
    key_id: str | None = None


OPERATOR = Caller(None)


@dataclass(frozen=True)
class KeyInfo:
    """A key as listed: never its secret."""

    id: str
    project: str
    name: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def ensure_project(session: Session, name: str) -> Project:
    """The project named ``name``, created if new."""
    if not PROJECT_NAME.match(name):
        raise InputError(
            ("--project",), "letters, digits, '.', '_' and '-' (at most 100), not starting with a sign"
        )
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        project = Project(name=name)
        session.add(project)
        session.flush()
    return project


def create_key(session: Session, project: str, name: str | None = None) -> tuple[str, KeyInfo]:
    """A new key of ``project`` (created if new): ``(the key, shown only now; its listing)``."""
    owner = ensure_project(session, project)
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKey(
        id=key_id, project_id=owner.id, name=name, hash=hash_secret(secret), created_at=datetime.now(UTC)
    )
    session.add(row)
    session.flush()
    return f"{PREFIX}_{key_id}_{secret}", _info(row, owner.name)


def list_keys(session: Session, project: str | None = None) -> list[KeyInfo]:
    q = select(ApiKey, Project.name).join(Project, Project.id == ApiKey.project_id)
    if project is not None:
        q = q.where(Project.name == project)
    return [_info(k, p) for k, p in session.execute(q.order_by(Project.name, ApiKey.created_at)).all()]


def revoke(session: Session, key_id: str) -> KeyInfo:
    """Revoke a key (by its id, or the whole key); revoking twice keeps the first date."""
    if match := KEY.match(key_id):
        key_id = match[1]
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"key {key_id}")
    row.revoked_at = row.revoked_at or datetime.now(UTC)
    project = session.get(Project, row.project_id)
    return _info(row, project.name if project else "?")


def resolve(session: Session, token: str) -> Caller | None:
    """The caller a bearer token stands for; None if it is malformed, unknown or revoked."""
    match = KEY.match(token.strip())
    if match is None:
        return None
    found = session.execute(
        select(ApiKey, Project.name)
        .join(Project, Project.id == ApiKey.project_id)
        .where(ApiKey.id == match[1])
    ).first()
    if found is None:
        return None
    key, project = found
    if not hmac.compare_digest(key.hash, hash_secret(match[2])) or key.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at > TOUCH_EVERY:
        key.last_used_at = now
    return Caller(key.project_id, project, key.id)


def _info(key: ApiKey, project: str) -> KeyInfo:
    return KeyInfo(key.id, project, key.name, key.created_at, key.last_used_at, key.revoked_at)
