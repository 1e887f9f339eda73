"""API keys for tests: a fresh project with a key, runs built outside the API handed to it, and
clients that send the key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import update

from labrun.shared.storage import apikeys
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import session_scope


@dataclass(frozen=True)
class Key:
    token: str
    key_id: str
    project: str
    project_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_key(project: str | None = None) -> Key:
    """A key of ``project`` (a new project when None), on the database the settings point at."""
    name = project or f"test-{uuid.uuid4().hex[:8]}"
    with session_scope() as s:
        token, info = apikeys.create_key(s, name)
        project_id = apikeys.ensure_project(s, name).id
    return Key(token, info.id, name, project_id)


def give(key: Key, *run_ids: str) -> None:
    """Runs built in the database (not through the API) become the key's project's."""
    with session_scope() as s:
        s.execute(update(Run).where(Run.id.in_(run_ids)).values(project_id=key.project_id))


def api_client(key: Key) -> TestClient:
    """The app in-process, every request carrying ``key``."""
    from labrun.api.main import create_app

    return TestClient(create_app(), headers=key.headers)
