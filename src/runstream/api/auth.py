"""Who is calling and what they may do (SPEC §10), decided in one place for every API family.

``authorize`` is a dependency of the whole application (``FastAPI(dependencies=…)``), so
every route under ``/api/`` — the native API, v0, runs, whatever is included later — is
guarded by being included; no handler checks anything itself. With ``--auth none`` it
returns at once and every request acts in the org its path names (``default`` for v0 and
runs).

With ``--auth keys`` a request carries ``Authorization: Bearer <credential>`` (a stream
token may instead be the ``token`` query parameter, since ``EventSource`` cannot set
headers):

- an API key (``rs_…``) acts in its organisation: a path naming another one → 403, and
  another org's execution id under its own org's path → 404 (the handler's answer for
  an unknown id, so ids of other orgs cannot be probed);
- a stream token reads one execution: GET of its snapshot, its events page, its stream
  and (for a workflow) its consolidated stream; anything else → 403;
- no credential, an unknown or revoked key, an expired, tampered or unsigned token → 401
  with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from runstream.api.errors import HttpError
from runstream.api.keys import KeyCache
from runstream.api.tokens import StreamGrant, TokenSigner
from runstream.config import Settings
from runstream.errors import RunstreamError
from runstream.model import ExecutionType
from runstream.model.keys import KEY_PREFIX
from runstream.store import Store
from runstream.streaming.registry import StreamRegistry
from runstream.streaming.wire.native import TypeFilter

log = logging.getLogger(__name__)

DEFAULT_ORG = "default"
"""The org of requests whose path names none when auth is off (v0, runs)."""
PROTECTED_PREFIX = "/api/"
"""Routes under this prefix need credentials; ``/docs`` and ``/openapi.json`` do not."""


def _readable(type: ExecutionType) -> frozenset[str]:
    execution = f"/api/orgs/{{org}}/{type.segment}/{{execution_id}}"
    paths = {execution, f"{execution}/events", f"{execution}/stream"}
    if type is ExecutionType.WORKFLOW:
        paths.add(f"{execution}/stream/consolidated")
    return frozenset(paths)


TOKEN_ROUTES = {type: _readable(type) for type in ExecutionType}
"""The route templates a stream token may GET, by the type of execution it was minted for."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    org: str
    """The organisation it acts in."""
    key_id: str | None = None
    """The API key it presented, if it presented one."""
    grant: StreamGrant | None = None
    """The stream token it presented, if it presented one."""


class Authenticator:
    """The credentials of one app: the key cache, the token signer, the auth mode."""

    def __init__(self, store: Store, settings: Settings, *, key_ttl: float = 1.0) -> None:
        self.enabled = settings.auth == "keys"
        """True with ``--auth keys``."""
        self.keys = KeyCache(store, ttl=key_ttl)
        self.tokens = TokenSigner(store)

    async def authenticate(self, request: HTTPConnection) -> Principal:
        """The caller behind the request's credential.

        Raises:
            HttpError: 401 when there is no valid credential.
        """
        header = request.headers.get("authorization")
        query = request.query_params.get("token")
        if header is not None:
            scheme, _, credential = header.strip().partition(" ")
            credential = credential.strip()
            if scheme.lower() != "bearer" or not credential:
                raise _unauthorized("send the credential as 'Authorization: Bearer <key>'")
        elif query:
            credential = query
            if credential.startswith(KEY_PREFIX):
                # URLs end up in logs and browser history; only short-lived tokens go there.
                raise _unauthorized("API keys go in the Authorization header, not in the URL")
        else:
            raise _unauthorized("an API key or a stream token is required", invalid=False)
        if credential.startswith(KEY_PREFIX):
            key = await self.keys.verify(credential)
            if key is None:
                raise _unauthorized("unknown or revoked API key")
            return Principal(org=key.org, key_id=key.id)
        grant = await self.tokens.verify(credential)
        if grant is None:
            raise _unauthorized("invalid or expired stream token")
        return Principal(org=grant.org, grant=grant)

    async def watch(self, streams: StreamRegistry) -> None:
        """End open streams whose API key was revoked, checking every key-cache period."""
        while True:
            await asyncio.sleep(self.keys.ttl)
            slots = streams.slots()
            for key_id in {slot.key_id for slot in slots if slot.key_id is not None}:
                try:
                    active = await self.keys.active(key_id)
                except RunstreamError as exc:
                    log.warning("cannot check API keys of open streams: %s", exc)
                    break
                if not active:
                    for slot in slots:
                        if slot.key_id == key_id:
                            slot.revoke()

    async def close(self) -> None:
        """Stop background writes."""
        await self.keys.close()


def _unauthorized(message: str, *, invalid: bool = True) -> HttpError:
    challenge = 'Bearer realm="runstream"' + (', error="invalid_token"' if invalid else "")
    return HttpError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


def _forbidden(message: str) -> HttpError:
    return HttpError(403, "forbidden", message)


async def authorize(request: HTTPConnection) -> Principal | None:
    """The application-wide dependency: authenticate, then check the route is allowed.

    Returns:
        The caller (also kept for ``principal_of``), or None when auth is off or the
        route is not part of the API.

    Raises:
        HttpError: 401 without a valid credential; 403 for another org's path, or a
            stream token used on anything but reading its own execution.
    """
    auth: Authenticator = request.app.state.auth
    if not auth.enabled or not request.url.path.startswith(PROTECTED_PREFIX):
        return None
    principal = await auth.authenticate(request)
    params = request.path_params
    path_org = params.get("org")
    if path_org is not None and path_org != principal.org:
        raise _forbidden(f"this credential belongs to another organisation than {path_org!r}")
    grant = principal.grant
    if grant is not None:
        route = getattr(request.scope.get("route"), "path", None)
        execution_id = str(params.get("execution_id", "")).lower()
        if not (
            request.scope.get("method") == "GET"
            and route in TOKEN_ROUTES[grant.type]
            and execution_id == grant.execution_id
        ):
            raise _forbidden("a stream token only reads the execution it was minted for")
    request.state.principal = principal
    return principal


def principal_of(request: HTTPConnection) -> Principal | None:
    """The caller ``authorize`` accepted; None when auth is off."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


def acting_org(request: HTTPConnection) -> str:
    """The organisation a request acts in: its credential's, else its path's, else
    ``default``. v0 and runs handlers take it as ``ActingOrg``."""
    principal = principal_of(request)
    if principal is not None:
        return principal.org
    org: str = request.path_params.get("org", DEFAULT_ORG)
    return org


def token_types(request: HTTPConnection) -> TypeFilter | None:
    """The event types a stream token restricts the request to; None: no restriction."""
    principal = principal_of(request)
    if principal is None or principal.grant is None:
        return None
    return principal.grant.type_filter()


ActingOrg = Annotated[str, Depends(acting_org)]
TokenTypes = Annotated[TypeFilter | None, Depends(token_types)]


@contextlib.asynccontextmanager
async def watching(auth: Authenticator, streams: StreamRegistry) -> AsyncIterator[None]:
    """Run ``auth.watch`` while the app runs (with ``--auth keys``), then close ``auth``."""
    tasks = []
    if auth.enabled:
        tasks.append(asyncio.create_task(auth.watch(streams), name="runstream-revocations"))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await auth.close()
