"""Authentication: one dependency, :data:`CurrentProject`, resolves ``Authorization: Bearer <key>``
to the key's project (401 with ``WWW-Authenticate: Bearer`` when the key is missing, malformed,
unknown or revoked). ``create_app`` applies it to every router but health and the docs; routes that
scope their answers take it as a parameter too (FastAPI resolves it once per request).

With ``LABRUN_API_AUTH=off`` (a single user's local API) it resolves to the operator, who sees
every run, as before keys existed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from labrun.shared.runs.access import ensure_visible
from labrun.shared.storage import apikeys
from labrun.shared.storage.apikeys import OPERATOR, Caller
from labrun.shared.storage.db.session import session_scope

bearer = HTTPBearer(
    auto_error=False, description="A project's API key, `lr_<id>_<secret>` (`labrun keys create`)"
)


def unauthorized(message: str, error: str | None = None) -> HTTPException:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return HTTPException(401, message, headers={"WWW-Authenticate": challenge})


def current_project(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    """The caller's project, from its bearer key (the operator when auth is off)."""
    if not getattr(request.app.state, "auth_required", True):
        return OPERATOR
    if credentials is None:
        raise unauthorized("an API key is required: send 'Authorization: Bearer <key>' (labrun keys create)")
    with session_scope() as s:
        caller = apikeys.resolve(s, credentials.credentials)
    if caller is None:
        raise unauthorized("invalid or revoked API key", error="invalid_token")
    return caller


CurrentProject = Annotated[Caller, Depends(current_project)]


def visible_run(run_id: str, caller: CurrentProject) -> str:
    """The path's run id, if the caller's project owns that run; else 404, as for an unknown run."""
    if caller.project_id is not None:
        with session_scope() as s:
            ensure_visible(s, caller.project_id, run_id)
    return run_id


VisibleRun = Annotated[str, Depends(visible_run)]
