"""The request context that audit rows carry (request id, client IP), held in a contextvar.

Set by RequestContextMiddleware for web and API requests; commands and tasks run without one, and
their audit rows simply have no request id.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip: str | None


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("gongzhi_request", default=None)


def current() -> RequestContext | None:
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def push(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def pop(token: contextvars.Token) -> None:
    _current.reset(token)
