"""Opening the NATS connection: credentials, and a failure that says what
was tried and why, within the connect timeout.

nats-py alone retries a refused server for as long as its reconnect
settings allow, hangs on a TLS certificate it cannot verify, and then
raises ``NoServersError`` or an empty ``TimeoutError``: the reason only
reaches its ``error_cb``. Here every attempt's error is kept, an
authorization or TLS failure ends the wait at once, and the exception
names the URL, whom it logged in as and the reason in the words of the Go
client (``client.Reason``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import nats
import nats.errors
from nats.aio.client import Client as NATS

from .errors import InvalidError, UnavailableError

__all__ = ["open_connection", "describe_credentials"]

log = logging.getLogger("rpbus")

# nats-py's defaults, restored once connected: they govern reconnects.
_RECONNECT_DEFAULTS = {"max_reconnect_attempts": 60, "reconnect_time_wait": 2}


def describe_credentials(
    user: str | None, token: str | None, creds: str | None, nkey: str | None
) -> str:
    """Whom a connection logs in as, without secrets."""
    if user:
        return f'as user "{user}"'
    if token:
        return "with a token"
    if creds:
        return f"with credentials file {creds}"
    if nkey:
        return f"with nkey file {nkey}"
    return "without credentials"


def _redact(servers: str | list[str]) -> str:
    urls = [servers] if isinstance(servers, str) else list(servers)
    out = []
    for s in ",".join(urls).split(","):
        u = urlsplit(s.strip())
        if u.username is not None or u.password is not None:
            host = u.hostname or ""
            if u.port:
                host += f":{u.port}"
            who = f"{u.username}:xxxxx" if u.password is not None else "xxxxx"
            s = urlunsplit((u.scheme, f"{who}@{host}", u.path, u.query, u.fragment))
        out.append(s)
    return ",".join(out)


def _fatal(e: BaseException) -> bool:
    """Errors that another attempt cannot cure: authorization and TLS."""
    return isinstance(e, (ssl.SSLError, nats.errors.AuthorizationError)) or "authorization violation" in str(e).lower()


def _reason(errors: list[BaseException], credentials_given: bool, timeout: float) -> str:
    for e in errors:
        text = str(e)
        if isinstance(e, nats.errors.AuthorizationError) or "authorization violation" in text.lower():
            if not credentials_given:
                return "authorization required: the server wants credentials (user= and password=, token=, creds= or nkey=)"
            return f"authorization failed: the server rejected the credentials ({text})"
        if isinstance(e, ssl.SSLCertVerificationError):
            return (
                f"TLS failed: certificate verify failed: {e.verify_message} "
                "(trust the server's certificate with tls=ssl.create_default_context(cafile=...))"
            )
        if isinstance(e, ssl.SSLError):
            return f"TLS failed: {e}"
    for e in errors:
        if isinstance(e, ConnectionRefusedError):
            return "connection refused: nothing listens there (is `rpbus up` or a nats-server running?)"
        if isinstance(e, OSError) and e.errno is None and "Name or service not known" in str(e):
            return f"unknown host: {e}"
    for e in errors:
        if isinstance(e, (TimeoutError, asyncio.TimeoutError, nats.errors.TimeoutError)):
            break
        if isinstance(e, OSError):
            return str(e)
        if str(e):
            return str(e).removeprefix("nats: ")
    return f"no answer within {timeout:g} s (a wrong address, a firewall, or not a NATS server)"


async def open_connection(
    servers: str | list[str],
    *,
    user: str | None,
    password: str | None,
    token: str | None,
    creds: str | None,
    nkey: str | None,
    timeout: float,
    options: dict[str, Any],
) -> NATS:
    """Connects once to each server, every attempt bounded by ``timeout``;
    raises :class:`UnavailableError` saying what was tried and why it
    failed (refused, no answer, authorization, TLS)."""
    kinds = [k for k, v in (("user", user or password), ("token", token), ("creds", creds), ("nkey", nkey)) if v]
    if len(kinds) > 1:
        raise InvalidError(400, f"credentials: give one of user and password, token, creds, nkey (got {', '.join(kinds)})")
    if password and not user:
        raise InvalidError(400, "credentials: a password needs a user")
    if user:
        options.update(user=user, password=password or "")
        # Replies under the user's own prefix, the only one deploy/'s
        # accounts let that user read (docs/security.md).
        if "inbox_prefix" not in options and re.fullmatch(r"[A-Za-z0-9_-]+", user):
            options["inbox_prefix"] = "_INBOX_" + user
    if token:
        options["token"] = token
    if creds:
        options["user_credentials"] = creds
    if nkey:
        options["nkeys_seed"] = nkey
    who = describe_credentials(user, token, creds, nkey)
    given = bool(kinds) or "@" in str(servers)
    restore = {k: options.get(k, v) for k, v in _RECONNECT_DEFAULTS.items()}
    # One attempt per server now; the caller's reconnect settings later.
    options.update(connect_timeout=timeout, max_reconnect_attempts=1, reconnect_time_wait=0)
    errors: list[BaseException] = []
    fatal = asyncio.Event()
    user_error_cb: Callable[[Exception], Awaitable[None]] | None = options.pop("error_cb", None)

    async def error_cb(e: Exception) -> None:
        if not (fatal.is_set() and isinstance(e, asyncio.CancelledError)):
            errors.append(e)
        if _fatal(e):
            fatal.set()
        if user_error_cb is not None:
            await user_error_cb(e)
        else:
            log.debug("nats: %r", e)

    n = len(servers) if isinstance(servers, list) else len(str(servers).split(","))
    attempt = asyncio.ensure_future(nats.connect(servers, error_cb=error_cb, **options))
    told = asyncio.ensure_future(fatal.wait())
    try:
        await asyncio.wait({attempt, told}, timeout=timeout * n, return_when=asyncio.FIRST_COMPLETED)
    finally:
        told.cancel()
    if attempt.done() and not attempt.cancelled() and attempt.exception() is None:
        nc = attempt.result()
        nc.options.update(restore)
        return nc
    if not attempt.done():
        attempt.cancel()
        with contextlib.suppress(BaseException):
            await attempt
    elif not attempt.cancelled() and attempt.exception() is not None:
        exc = attempt.exception()
        if not isinstance(exc, nats.errors.NoServersError):
            errors.append(exc)  # type: ignore[arg-type]
    raise UnavailableError(503, f"cannot connect to NATS at {_redact(servers)} {who}: {_reason(errors, given, timeout)}") from None
