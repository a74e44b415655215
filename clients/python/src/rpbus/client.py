"""The client: one NATS connection, boards, requests, cancellation, events.

Every call passes nats-py a timeout derived from the request (nats-py's
own default of 0.5 s is shorter than most acquisitions); calls that cannot
derive one wait :data:`DEFAULT_TIMEOUT` seconds. Acquisitions carry an id
chosen here, so that cancelling the awaiting asyncio task, or giving up at
the client's timeout, sends ``rp.<board>.<module>.cancel`` with that id and
the service stops working for a caller that has gone. At most
``max_in_flight`` requests (default 64) wait for replies at once: many
concurrent large replies on one connection overflow its pending limits.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import nats
import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from . import _wire
from ._connect import open_connection
from .deadlines import MARGIN, txn_wait
from .errors import (
    InvalidError,
    NotFoundError,
    RequestTimeoutError,
    RpbusError,
    UnavailableError,
)
from .types import ASGSettings, CancelReply, HWInfo, StopReply, TxnCancelReply, TxnReply, from_wire

if TYPE_CHECKING:
    from .curves import Curves

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "MARGIN",
    "Client",
    "Board",
    "HW",
    "Generator",
    "EventStream",
    "connect",
    "read",
    "write",
    "wait",
]

log = logging.getLogger("rpbus")

DEFAULT_TIMEOUT = 5.0
"""Seconds a call waits when its duration cannot be derived from the request."""

CONNECT_TIMEOUT = 2.0
"""Seconds one connection attempt may take before :func:`connect` says why
it failed."""


CANCEL_TIMEOUT = 2.0
"""Seconds a cancel request sent on the caller's behalf may take."""

CANCEL_ATTEMPTS = 8
"""Cancel requests sent at most for one abandoned call (10 ms apart,
doubling up to 0.5 s), while the service does not know its id yet."""

_BOARD_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

T = TypeVar("T")


async def connect(
    servers: str | list[str] = "nats://127.0.0.1:4222",
    *,
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
    creds: str | None = None,
    nkey: str | None = None,
    max_in_flight: int = 64,
    timeout: float = CONNECT_TIMEOUT,
    **options: Any,
) -> Client:
    """Connects to NATS and returns a :class:`Client` that owns the
    connection (``close`` closes it).

    Credentials, at most one kind: ``user`` and ``password``, ``token``,
    ``creds`` (a credentials file: user JWT and nkey seed) or ``nkey`` (an
    nkey seed file); a ``tls://`` URL with ``tls=ssl_context`` for a
    server whose certificate your system does not trust. Other ``options``
    go to ``nats.connect`` (its reconnect settings then apply to a
    connection lost later).

    Raises :class:`UnavailableError` within ``timeout`` seconds per server
    when no server accepts the connection, saying what was tried and why:
    connection refused, no answer, authorization, TLS."""
    nc = await open_connection(
        servers, user=user, password=password, token=token, creds=creds, nkey=nkey, timeout=timeout, options=options
    )
    return Client(nc, max_in_flight=max_in_flight, owns_connection=True)


class Client:
    """Talks to rpbus services over one nats-py connection.

    Use ``await rpbus.connect(url)``, or ``Client(nc)`` on a connection the
    caller owns. ``async with client:`` closes it at the end.
    """

    def __init__(self, nc: NATS, *, max_in_flight: int = 64, owns_connection: bool = False) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight: at least 1")
        self._nc = nc
        self._owns = owns_connection
        self._slots = asyncio.Semaphore(max_in_flight)
        self._background: set[asyncio.Task[None]] = set()

    @property
    def nc(self) -> NATS:
        """The nats-py connection."""
        return self._nc

    @property
    def curves(self) -> Curves:
        """The curve store: saved acquisitions (:mod:`rpbus.curves`)."""
        from .curves import Curves

        return Curves(self)

    def board(self, name: str) -> Board:
        """A handle on the board called ``name`` (``sim`` for ``rpbus up``)."""
        if not _BOARD_NAME.match(name):
            raise InvalidError(400, f"board name {name!r}: letters, digits, '-' and '_' only")
        return Board(self, name)

    async def request(
        self,
        subject: str,
        body: Mapping[str, Any] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Any:
        """Sends ``body`` (msgpack) to ``subject`` and returns the decoded
        reply; service errors raise the :class:`RpbusError` of their code."""
        async with self._slots:
            msg = await self._roundtrip(subject, body, timeout)
        return self._decode(msg, subject)

    async def _roundtrip(self, subject: str, body: Mapping[str, Any] | None, timeout: float) -> Msg:
        try:
            return await self._nc.request(subject, _wire.pack(body or {}), timeout=timeout, headers=_wire.REQUEST_HEADERS)
        except nats.errors.NoRespondersError:
            raise NotFoundError(
                404, "no service answers: unknown board or module, or the service is not running", subject
            ) from None
        except nats.errors.TimeoutError:
            raise RequestTimeoutError(408, f"no reply within {timeout:g} s", subject) from None
        except nats.errors.BadSubjectError as e:
            raise InvalidError(400, f"bad subject: {e}", subject) from None
        except (
            nats.errors.ConnectionClosedError,
            nats.errors.ConnectionDrainingError,
            nats.errors.StaleConnectionError,
            nats.errors.OutboundBufferLimitError,
            OSError,
        ) as e:
            raise UnavailableError(503, f"NATS connection: {e or type(e).__name__}", subject) from None

    @staticmethod
    def _decode(msg: Msg, subject: str) -> Any:
        err = _wire.check_error(msg.headers, subject)
        if err is not None:
            raise err
        return _wire.unpack(msg.data, subject)

    async def call_cancellable(
        self,
        subject: str,
        body: Mapping[str, Any],
        *,
        timeout: float,
        cancel_subject: str,
        id: str,
    ) -> Any:
        """Like :meth:`request`, but when the awaiting task is cancelled or
        the client's timeout passes, also asks ``cancel_subject`` to cancel
        ``id`` so the service stops the work. Its own 499 is then awaited
        in the background and dropped: nobody waits for it."""
        async with self._slots:
            # The request runs as a task of its own so that it outlives a
            # cancelled caller: the cancel below retries until the service
            # knows the id or the request has answered.
            inner = asyncio.ensure_future(self._roundtrip(subject, body, timeout))
            try:
                msg = await asyncio.shield(inner)
            except asyncio.CancelledError:
                self._spawn(self._cancel_until_answered(cancel_subject, id, inner))
                raise
            except RequestTimeoutError:
                self._spawn(self._cancel_until_answered(cancel_subject, id, None))
                raise
        return self._decode(msg, subject)

    def _spawn(self, coro: Any) -> None:
        if self._nc.is_closed:
            coro.close()
            return
        # The set keeps the task referenced until it ends; the cancelled
        # caller does not wait for it.
        t = asyncio.get_running_loop().create_task(coro)
        self._background.add(t)
        t.add_done_callback(self._background.discard)

    async def _cancel_until_answered(self, subject: str, id: str, inner: asyncio.Future[Msg] | None) -> None:
        # A cancel can overtake its request inside the service (the request
        # is not registered yet): "not found" while the request is still
        # unanswered means try again shortly, a bounded number of times.
        delay = 0.01
        for _ in range(CANCEL_ATTEMPTS):
            try:
                # Not behind the in-flight slots: a cancel must not queue
                # behind the requests it is meant to end.
                msg = await self._roundtrip(subject, {"id": id}, CANCEL_TIMEOUT)
                reply = self._decode(msg, subject)
                found = bool(reply.get("cancelled")) if isinstance(reply, dict) else True
            except NotFoundError:
                found = False
            except RpbusError as e:
                log.debug("cancel %s on %s: %s", id, subject, e)
                break
            log.debug("cancel %s on %s: cancelled=%s", id, subject, found)
            if found or inner is None or inner.done():
                break
            await asyncio.wait({inner}, timeout=delay)
            if inner.done():
                break
            delay = min(2 * delay, 0.5)
        if inner is not None:
            # Collect the abandoned request's answer (499, or a result that
            # won the race) so that nothing is left unretrieved.
            try:
                msg = await inner
                err = _wire.check_error(msg.headers, subject)
                outcome = f"{err.code} {err.name}" if err else "a result (it ended before the cancel)"
            except RpbusError as e:
                outcome = f"{e.code} {e.name}"
            except (Exception, asyncio.CancelledError) as e:
                outcome = type(e).__name__
            log.debug("abandoned request %s answered %s", id, outcome)

    async def wait_cancels(self, timeout: float = CANCEL_TIMEOUT + 1) -> None:
        """Waits until the cancels sent on cancelled calls' behalf have been
        answered and the abandoned requests have had their replies (at most
        ``timeout`` seconds)."""
        pending = set(self._background)
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def close(self) -> None:
        """Lets pending cancel requests finish (a few seconds at most), then
        closes the connection if this client opened it."""
        await self.wait_cancels()
        for t in list(self._background):
            t.cancel()
        if self._owns and not self._nc.is_closed:
            await self._nc.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def subscribe(
        self,
        subject: str,
        decode: Callable[[Any], T],
        *,
        keep: Callable[[T], bool] | None = None,
        count: int | None = None,
        max_pending: int = 1024,
    ) -> EventStream[T]:
        """An :class:`EventStream` of the msgpack events on ``subject``."""
        return EventStream(self, subject, decode, keep=keep, count=count, max_pending=max_pending)


def new_id(module: str) -> str:
    """A client-chosen acquisition id, unique with overwhelming probability."""
    return f"py-{module}-{secrets.token_hex(8)}"


class EventStream(Generic[T]):
    """Events published on one subject, as an async iterator.

    ``async with board.scope.done() as events:`` subscribes (and waits until
    the server has the subscription, so nothing published afterwards is
    missed) and unsubscribes at the end; ``async for ev in events`` yields
    decoded events. Used without ``async with``, the stream subscribes at
    the first iteration and unsubscribes when ``count`` events came or on
    :meth:`close`.

    Events are queued as they arrive; when more than ``max_pending`` wait
    unread the newest are dropped and counted in :attr:`dropped` (continuous
    traces carry sequence numbers, so gaps show there too). A done event of
    an acquisition that failed comes with the error in its ``error``
    attribute; iteration never raises a service's error.
    """

    def __init__(
        self,
        client: Client,
        subject: str,
        decode: Callable[[Any], T],
        *,
        keep: Callable[[T], bool] | None = None,
        count: int | None = None,
        max_pending: int = 1024,
    ) -> None:
        if count is not None and count < 1:
            raise ValueError("count: at least 1, or None for no limit")
        self.subject = subject
        self.dropped = 0
        self._client = client
        self._decode = decode
        self._keep = keep
        self._left = count
        self._queue: asyncio.Queue[Msg | None] = asyncio.Queue(maxsize=max_pending)
        self._sub: Any = None
        self._closed = False
        self._ending = False

    async def open(self) -> EventStream[T]:
        """Subscribes, and returns once the server knows of it."""
        if self._closed:
            raise RuntimeError(f"event stream on {self.subject} is closed")
        if self._sub is None:
            nc = self._client.nc
            try:
                self._sub = await nc.subscribe(self.subject, cb=self._on_msg)
                await nc.flush(timeout=int(DEFAULT_TIMEOUT))
            except (nats.errors.Error, OSError) as e:
                raise UnavailableError(503, f"subscribing: {e or type(e).__name__}", self.subject) from None
        return self

    async def _on_msg(self, msg: Msg) -> None:
        try:
            self._queue.put_nowait(msg)
        except asyncio.QueueFull:
            self.dropped += 1

    async def close(self) -> None:
        """Unsubscribes; an iteration waiting for an event ends."""
        if self._closed:
            return
        self._closed = True
        sub, self._sub = self._sub, None
        if sub is not None and not self._client.nc.is_closed:
            try:
                await sub.unsubscribe()
            except nats.errors.Error:
                pass
        # Wake a reader; drop the oldest event if the queue is full.
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def until(self, aw: asyncio.Future[Any]) -> EventStream[T]:
        """Ends the iteration once ``aw`` (a future or task, typically the
        acquisition these events are about) is done and the events queued
        before that have been read: periodic progress events need not
        include a last one. Returns the stream::

            sweep = asyncio.ensure_future(board.na.single(...))
            async for p in progress.until(sweep):
                ...
        """
        aw.add_done_callback(lambda _: self._end_soon())
        return self

    def _end_soon(self) -> None:
        self._ending = True
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            pass  # the reader has events to read; it checks _ending when they run out

    async def __aenter__(self) -> EventStream[T]:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> EventStream[T]:
        return self

    async def __anext__(self) -> T:
        if self._closed or self._left == 0:
            await self.close()
            raise StopAsyncIteration
        await self.open()
        while True:
            if self._ending and self._queue.empty():
                await self.close()
                raise StopAsyncIteration
            msg = await self._queue.get()
            if msg is None:
                await self.close()
                raise StopAsyncIteration
            ev = self._decode(_wire.unpack(msg.data, self.subject))
            err = _wire.check_error(msg.headers, self.subject)
            if err is not None and hasattr(ev, "error"):
                # A done event of a failed acquisition: the event, with why.
                ev.error = err
            if self._keep is not None and not self._keep(ev):
                continue
            if self._left is not None:
                self._left -= 1
                if self._left == 0:
                    await self.close()
            return ev

    async def next(self, timeout: float | None = None) -> T:
        """The next event; :class:`RequestTimeoutError` after ``timeout`` s."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except asyncio.TimeoutError:
            raise RequestTimeoutError(408, f"no event within {timeout:g} s", self.subject) from None


# --- the board and its hardware bridge --------------------------------------


def read(addr: int, n: int = 1, width: int = 32) -> dict[str, Any]:
    """A read op of an hw.txn: ``n`` words (1..65535) at ``addr``; with
    ``width=16`` the result holds the low 16 bits of each in ``halves``
    (14-bit ADC data in half the bytes)."""
    op: dict[str, Any] = {"op": "read", "addr": addr, "n": n}
    if width != 32:
        op["width"] = width
    return op


def write(addr: int, *words: int) -> dict[str, Any]:
    """A write op of an hw.txn: ``words`` at ``addr``."""
    return {"op": "write", "addr": addr, "words": _wire.wire_array(list(words), "<u4")}


def wait(addr: int, mask: int, value: int, timeout: float = 1.0) -> dict[str, Any]:
    """A wait op of an hw.txn: until ``word & mask == value``, at most
    ``timeout`` seconds (then 408)."""
    return {"op": "wait", "addr": addr, "mask": mask, "value": value, "timeout": timeout}


class Board:
    """One board's services: :attr:`hw`, :attr:`asg0`, :attr:`asg1`,
    :attr:`scope`, :attr:`na`, :attr:`specan`."""

    def __init__(self, client: Client, name: str) -> None:
        from .na import NetworkAnalyzer
        from .scope import Scope
        from .specan import SpectrumAnalyzer

        self.client = client
        self.name = name
        self.hw = HW(self)
        self.asg0 = Generator(self, "asg0")
        self.asg1 = Generator(self, "asg1")
        self.scope = Scope(self)
        self.na = NetworkAnalyzer(self)
        self.specan = SpectrumAnalyzer(self)

    def subject(self, module: str, verb: str) -> str:
        """rp.<board>.<module>.<verb>"""
        return f"rp.{self.name}.{module}.{verb}"

    async def info(self, *, timeout: float = DEFAULT_TIMEOUT) -> HWInfo:
        """What the hardware bridge says the board is."""
        return from_wire(HWInfo, await self.client.request(self.subject("hw", "info"), timeout=timeout))

    def __repr__(self) -> str:
        return f"<rpbus.Board {self.name!r}>"


class HW:
    """Raw register access through the bridge (rp.<board>.hw.txn)."""

    def __init__(self, board: Board) -> None:
        self._b = board

    async def txn(self, *ops: Mapping[str, Any], id: str | None = None, timeout: float | None = None) -> TxnReply:
        """Runs ``ops`` (built with :func:`read`, :func:`write`, :func:`wait`)
        as one transaction. Cancelling the awaiting task cancels it on the
        bridge (hw.cancel). The default timeout is the sum of the wait ops'
        timeouts plus :data:`DEFAULT_TIMEOUT`."""
        if timeout is None:
            timeout = txn_wait(ops)
        tid = id or new_id("hw")
        reply = await self._b.client.call_cancellable(
            self._b.subject("hw", "txn"),
            {"id": tid, "ops": list(ops)},
            timeout=timeout,
            cancel_subject=self._b.subject("hw", "cancel"),
            id=tid,
        )
        return from_wire(TxnReply, reply)

    async def read(self, addr: int, n: int = 1, *, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """``n`` words at ``addr`` as a uint32 numpy array."""
        r = await self.txn(read(addr, n), timeout=timeout)
        return r.results[0].words

    async def write(self, addr: int, *words: int, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Writes ``words`` at ``addr``."""
        await self.txn(write(addr, *words), timeout=timeout)

    async def cancel(self, id: str, *, timeout: float = DEFAULT_TIMEOUT) -> TxnCancelReply:
        """Cancels the transaction ``id`` (it then answers 499)."""
        r = await self._b.client.request(self._b.subject("hw", "cancel"), {"id": id}, timeout=timeout)
        return from_wire(TxnCancelReply, r)



class Generator:
    """One of the two signal generators (asg0, asg1)."""

    def __init__(self, board: Board, name: str) -> None:
        self._b = board
        self.name = name

    async def setup(
        self,
        *,
        waveform: str | None = None,
        frequency: float | None = None,
        amplitude: float | None = None,
        offset: float | None = None,
        start_phase: float | None = None,
        output_direct: str | None = None,
        trigger_source: str | None = None,
        cycles_per_burst: int | None = None,
        bursts: int | None = None,
        delay_between_bursts: float | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> ASGSettings:
        """Changes the given settings (PyRPL's names and units: Hz, V,
        degrees, s); the others keep their value. Returns the whole state as
        applied, rounded to the hardware's steps."""
        body = _given(
            waveform=waveform,
            frequency=frequency,
            amplitude=amplitude,
            offset=offset,
            start_phase=start_phase,
            output_direct=output_direct,
            trigger_source=trigger_source,
            cycles_per_burst=cycles_per_burst,
            bursts=bursts,
            delay_between_bursts=delay_between_bursts,
        )
        r = await self._b.client.request(self._b.subject(self.name, "setup"), body, timeout=timeout)
        return from_wire(ASGSettings, r)


def _given(**kw: Any) -> dict[str, Any]:
    """The arguments that were given (not None)."""
    return {k: v for k, v in kw.items() if v is not None}


class Instrument:
    """What the instrument services share: acquisitions with ids and
    derived timeouts, cancel, stop, and the done and progress events."""

    module = ""

    def __init__(self, board: Board) -> None:
        self._b = board

    @property
    def board(self) -> Board:
        return self._b

    async def _acquire(self, verb: str, body: dict[str, Any], timeout: float) -> Any:
        body["id"] = body.get("id") or new_id(self.module)
        return await self._b.client.call_cancellable(
            self._b.subject(self.module, verb),
            body,
            timeout=timeout,
            cancel_subject=self._b.subject(self.module, "cancel"),
            id=body["id"],
        )

    async def cancel(self, id: str, *, timeout: float = DEFAULT_TIMEOUT) -> CancelReply:
        """Cancels acquisition ``id`` wherever it runs (404 if none has it);
        its request then answers 499."""
        r = await self._b.client.request(self._b.subject(self.module, "cancel"), {"id": id}, timeout=timeout)
        return from_wire(CancelReply, r)

    async def stop(self, *, timeout: float = DEFAULT_TIMEOUT) -> StopReply:
        """Ends continuous mode and cancels this board's queued and running
        acquisitions of this instrument."""
        r = await self._b.client.request(self._b.subject(self.module, "stop"), timeout=timeout)
        return from_wire(StopReply, r)

    def _events(self, verb: str, decode: Callable[[Any], T], id: str | None, count: int | None) -> EventStream[T]:
        keep = None
        if id is not None:

            def keep(ev: T) -> bool:
                return getattr(ev, "id", None) == id

        return self._b.client.subscribe(self._b.subject(self.module, verb), decode, keep=keep, count=count)
