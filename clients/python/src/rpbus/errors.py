"""Errors of rpbus services as Python exceptions.

A service answers an error with an empty body and two headers:
``Nats-Service-Error`` (the message) and ``Nats-Service-Error-Code`` (an
HTTP-like number). :func:`error_from_code` maps the number to one subclass of
:class:`RpbusError`; the table is the client side of the Go package ``rperr``.

============  ============  =============================================
code          name          class
============  ============  =============================================
400           invalid       :class:`InvalidError` (also a ``ValueError``)
404           not_found     :class:`NotFoundError` (also a ``LookupError``)
408           timeout       :class:`RequestTimeoutError` (also a ``TimeoutError``)
409           busy          :class:`BusyError`
499           cancelled     :class:`RequestCancelledError`
500           internal      :class:`InternalError`
503           unavailable   :class:`UnavailableError` (also a ``ConnectionError``)
============  ============  =============================================

``RequestCancelledError`` is the service saying that *it* cancelled an
acquisition (a cancel or stop request, or shutdown); it is deliberately not
``asyncio.CancelledError``, which only ever means that the awaiting task
itself was cancelled.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "RpbusError",
    "InvalidError",
    "NotFoundError",
    "RequestTimeoutError",
    "BusyError",
    "RequestCancelledError",
    "InternalError",
    "UnavailableError",
    "error_from_code",
]


class RpbusError(Exception):
    """An error answered by an rpbus service, or met on the way to one.

    ``code`` is the wire number (400, 404, 408, 409, 499, 500, 503), ``name``
    the protocol's word for it, ``message`` the service's text and
    ``subject`` the subject that was asked, when known.
    """

    default_code: ClassVar[int] = 500
    name: ClassVar[str] = "internal"

    def __init__(self, code: int, message: str, subject: str | None = None) -> None:
        super().__init__(code, message, subject)
        self.code = code
        self.message = message
        self.subject = subject

    def __str__(self) -> str:
        where = f" ({self.subject})" if self.subject else ""
        return f"{self.code} {self.name}{where}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, subject={self.subject!r})"


class InvalidError(RpbusError, ValueError):
    """400: bad input; the message names the field and the allowed range."""

    default_code = 400
    name = "invalid"


class NotFoundError(RpbusError, LookupError):
    """404: unknown board, module or acquisition id, or no service answers."""

    default_code = 404
    name = "not_found"


class RequestTimeoutError(RpbusError, TimeoutError):
    """408: a trigger or register condition did not come in time, or no reply came."""

    default_code = 408
    name = "timeout"


class BusyError(RpbusError):
    """409: the resource is held and the request asked not to wait."""

    default_code = 409
    name = "busy"


class RequestCancelledError(RpbusError):
    """499: the service cancelled the acquisition (cancel, stop or shutdown)."""

    default_code = 499
    name = "cancelled"


class InternalError(RpbusError):
    """500: a bug in a service or in this client."""

    default_code = 500
    name = "internal"


class UnavailableError(RpbusError, ConnectionError):
    """503: the hardware, a service it needs, or the NATS connection is gone."""

    default_code = 503
    name = "unavailable"


_BY_CODE: dict[int, type[RpbusError]] = {
    cls.default_code: cls
    for cls in (
        InvalidError,
        NotFoundError,
        RequestTimeoutError,
        BusyError,
        RequestCancelledError,
        InternalError,
        UnavailableError,
    )
}


def error_from_code(code: int, message: str, subject: str | None = None) -> RpbusError:
    """The exception for a wire code; unknown codes give a plain RpbusError."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return RpbusError(code, message, subject)
    return cls(code, message, subject)
