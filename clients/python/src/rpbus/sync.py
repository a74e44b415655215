"""A blocking facade for scripts: ``scope.single()`` returns the trace.

::

    import rpbus

    rp = rpbus.connect_sync("nats://127.0.0.1:4222")
    board = rp.board("sim")
    trace = board.scope.single(duration=1e-3)     # blocks, like PyRPL
    for p in board.na.progress(count=3): ...      # events as a plain iterator
    rp.close()

The asyncio client runs on an event loop of its own, in a background
thread; every call is sent there and the calling thread waits for its
result. The facade never runs anything on the caller's loop, so it works
in plain scripts, threads and Jupyter alike:

- In a thread without a running event loop (a script) a call blocks and
  returns its result.
- In a thread whose event loop is running (a Jupyter cell, a coroutine),
  blocking would stall that loop, so a call does not block: it starts the
  work and returns a :class:`Pending` to ``await`` (``trace = await
  board.scope.single()``). Using a Pending as if it were the result raises
  a ``RuntimeError`` that says so.
- A call from the facade's own loop (inside a callback it runs) would
  wait for itself: a ``RuntimeError`` says so at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

from .client import HW, Board, Client, EventStream, Generator, Instrument
from .client import connect as _connect_async
from .curves import Curves

__all__ = ["connect", "SyncClient", "Pending", "SyncStream"]

_IN_A_RUNNING_LOOP = (
    "rpbus.sync: this thread runs an event loop (a Jupyter cell, or a coroutine), which a blocking call "
    "would stall; the call runs in the background: await its result, e.g. trace = await board.scope.single()"
)


class Pending:
    """A facade call made where blocking would stall a running event loop:
    the work runs; ``await`` it for the result."""

    def __init__(self, future: concurrent.futures.Future[Any], what: str) -> None:
        self._future = future
        self._what = what

    def __await__(self) -> Any:
        return asyncio.wrap_future(self._future).__await__()

    def done(self) -> bool:
        return self._future.done()

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"{_IN_A_RUNNING_LOOP} (used {self._what}.{name} without await)")

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError(f"{_IN_A_RUNNING_LOOP} (iterated {self._what} without await)")

    def __repr__(self) -> str:
        state = "done" if self._future.done() else "running"
        return f"<rpbus.sync.Pending {self._what} ({state}): await it>"


class _Runner:
    """The background loop and how calls reach it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="rpbus-sync", daemon=True)
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError(
                "rpbus.sync: called from the facade's own event loop (inside a callback it runs): it would wait "
                "for itself; use the asyncio client there"
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, Any], what: str) -> Any:
        future = self.submit(coro)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return future.result()
        return Pending(future, what)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


class _Proxy:
    """Blocking access to one of the asyncio client's objects."""

    def __init__(self, target: Any, runner: _Runner, name: str) -> None:
        self._target = target
        self._runner = runner
        self._name = name

    def _wrap(self, value: Any, name: str) -> Any:
        if inspect.iscoroutine(value):
            return self._runner.run(value, name)
        if isinstance(value, EventStream):
            return SyncStream(value, self._runner)
        if isinstance(value, (Board, HW, Generator, Instrument, Curves)):
            return _Proxy(value, self._runner, name)
        return value

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        name = f"{self._name}.{attr}"
        if callable(value) and not isinstance(value, (Board, HW, Generator, Instrument, Curves)):

            def call(*args: Any, **kwargs: Any) -> Any:
                return self._wrap(value(*args, **kwargs), name)

            call.__doc__ = value.__doc__
            call.__name__ = attr
            return call
        return self._wrap(value, name)

    def __dir__(self) -> list[str]:
        return dir(self._target)

    def __repr__(self) -> str:
        return f"<rpbus.sync {self._name}: {self._target!r}>"


class SyncStream:
    """An :class:`~rpbus.EventStream` as a plain iterator; ``with`` (or the
    first ``next``) subscribes, ``close()`` or the end unsubscribes."""

    def __init__(self, stream: EventStream[Any], runner: _Runner) -> None:
        self._stream = stream
        self._runner = runner

    def open(self) -> SyncStream:
        self._runner.submit(self._stream.open()).result()
        return self

    def __enter__(self) -> SyncStream:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._runner.submit(self._stream.close()).result()

    def __iter__(self) -> SyncStream:
        return self

    def __next__(self) -> Any:
        try:
            return self._runner.submit(self._stream.__anext__()).result()
        except StopAsyncIteration:
            raise StopIteration from None

    def next(self, timeout: float | None = None) -> Any:
        """The next event; :class:`~rpbus.RequestTimeoutError` after ``timeout`` s."""
        return self._runner.submit(self._stream.next(timeout)).result()


class SyncClient(_Proxy):
    """The blocking facade of a :class:`~rpbus.Client`; ``board(name)``
    gives blocking boards. ``close()`` (or ``with``) ends it."""

    def __init__(self, client: Client, runner: _Runner) -> None:
        super().__init__(client, runner, "client")

    @property
    def client(self) -> Client:
        """The asyncio client (on the facade's loop: use it there only)."""
        return self._target  # type: ignore[no-any-return]

    def board(self, name: str) -> Any:
        return _Proxy(self.client.board(name), self._runner, f"board({name!r})")

    def close(self) -> None:
        """Closes the connection and stops the background loop."""
        try:
            self._runner.submit(self.client.close()).result(timeout=10)
        finally:
            self._runner.stop()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect_sync(servers: str | list[str] = "nats://127.0.0.1:4222", **kwargs: Any) -> Any:
    """Connects like :func:`rpbus.connect` (same arguments) and returns the
    blocking facade, a :class:`SyncClient`. In a thread whose event loop
    runs (Jupyter) it returns a :class:`Pending` of it instead: ``rp =
    await rpbus.connect_sync(url)``."""
    runner = _Runner()
    connected = runner.submit(_connect_async(servers, **kwargs))
    facade: concurrent.futures.Future[SyncClient] = concurrent.futures.Future()

    def done(f: concurrent.futures.Future[Client]) -> None:
        if f.cancelled() or f.exception() is not None:
            facade.set_exception(f.exception() or concurrent.futures.CancelledError())
            threading.Thread(target=runner.stop, daemon=True).start()
        else:
            facade.set_result(SyncClient(f.result(), runner))

    connected.add_done_callback(done)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return facade.result()
    return Pending(facade, "connect_sync()")


connect = connect_sync  # rpbus.sync.connect
