"""The oscilloscope: rp.<board>.scope.single, continuous, stop, cancel and
its events (done, progress, trace).

One trace is 16384 samples per channel, taken every ``dt = 8 ns x
decimation``; its duration is ``16384 x dt`` (131.072 us at decimation 1).
The client waits :func:`rpbus.deadlines.scope_wait` seconds for a reply.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from typing import Any

from .client import EventStream, Instrument, _given
from .deadlines import scope_wait
from .types import ContinuousReply, ScopeTrace, from_wire

__all__ = ["Scope", "SAMPLES", "CLOCK", "duration_of"]

SAMPLES = 16384
"""Samples per channel in one trace."""

CLOCK = 125e6
"""The FPGA clock (Hz): one sample every 8 ns at decimation 1."""


def duration_of(decimation: int) -> float:
    """Seconds one trace spans at ``decimation``: 16384 x 8 ns x decimation."""
    return SAMPLES * decimation / CLOCK


class Scope(Instrument):
    """The board's oscilloscope. Settings have PyRPL's names and units;
    those not given take the service's defaults (see docs/scope.md)."""

    module = "scope"

    async def single(
        self,
        *,
        duration: float | None = None,
        decimation: int | None = None,
        input1: str | None = None,
        input2: str | None = None,
        trigger_source: str | None = None,
        threshold: float | None = None,
        hysteresis: float | None = None,
        trigger_delay: float | None = None,
        average: bool | None = None,
        trace_average: int | None = None,
        timeout: float | None = None,
        id: str | None = None,
        save: bool | None = None,
        name: str | None = None,
        tags: list[str] | None = None,
        request_timeout: float | None = None,
    ) -> ScopeTrace:
        """Acquires one trace (the average of ``trace_average`` traces).

        ``duration`` (s, rounded up to 16384 x 8 ns x 2^k) or
        ``decimation`` (1, 2, 4, ... 65536), at most one; ``input1`` and
        ``input2`` (in1, in2, out1, out2, asg0, asg1, iq0.., pid0..);
        ``trigger_source`` (immediately, ch1_positive_edge, ...),
        ``threshold`` and ``hysteresis`` (V), ``trigger_delay`` (s);
        ``average``: boxcar average while decimating; ``timeout``: seconds
        the *service* waits before answering 408 (default 1 s + 2 x the
        acquisition and its readout). ``id`` names the acquisition (one is chosen when
        absent); ``request_timeout`` overrides how long this client waits.
        ``save`` stores the trace in the curve store (``name``, ``tags``
        label it there) before the reply, whose ``curve`` is then its id.

        Cancelling the awaiting task cancels the acquisition on the service.
        """
        body = _given(
            duration=duration,
            decimation=decimation,
            input1=input1,
            input2=input2,
            trigger_source=trigger_source,
            threshold=threshold,
            hysteresis=hysteresis,
            trigger_delay=trigger_delay,
            average=average,
            trace_average=trace_average,
            timeout=timeout,
            id=id,
            save=save,
            name=name,
            tags=tags,
        )
        wait = request_timeout if request_timeout is not None else scope_wait(body)
        return from_wire(ScopeTrace, await self._acquire("single", body, wait))

    async def continuous(
        self,
        *,
        duration: float | None = None,
        decimation: int | None = None,
        input1: str | None = None,
        input2: str | None = None,
        trigger_source: str | None = None,
        threshold: float | None = None,
        hysteresis: float | None = None,
        trigger_delay: float | None = None,
        average: bool | None = None,
        trace_average: int | None = None,
        timeout: float | None = None,
        id: str | None = None,
        save: bool | None = None,
        name: str | None = None,
        tags: list[str] | None = None,
        save_every: int | None = None,
        request_timeout: float | None = None,
    ) -> ContinuousReply:
        """Starts continuous mode with these settings (as :meth:`single`);
        traces follow on rp.<board>.scope.trace (see :meth:`traces`) until
        :meth:`stop`. ``save_every=N`` (or ``save`` for every trace) stores
        one trace in N in the curve store; those carry their ``curve`` id."""
        body = _given(
            duration=duration,
            decimation=decimation,
            input1=input1,
            input2=input2,
            trigger_source=trigger_source,
            threshold=threshold,
            hysteresis=hysteresis,
            trigger_delay=trigger_delay,
            average=average,
            trace_average=trace_average,
            timeout=timeout,
            id=id,
            save=save,
            name=name,
            tags=tags,
            save_every=save_every,
        )
        wait = request_timeout if request_timeout is not None else scope_wait(body)
        return from_wire(ContinuousReply, await self._acquire("continuous", body, wait))

    def traces(self, *, count: int | None = None, max_pending: int = 64) -> EventStream[ScopeTrace]:
        """The continuous traces (rp.<board>.scope.trace), each with its
        sequence number ``seq`` (1, 2, ... per continuous run, so gaps
        show)."""
        return self._b.client.subscribe(
            self._b.subject(self.module, "trace"),
            lambda d: from_wire(ScopeTrace, d),
            count=count,
            max_pending=max_pending,
        )

    @contextlib.asynccontextmanager
    async def running(self, *, count: int | None = None, **settings: Any) -> AsyncIterator[EventStream[ScopeTrace]]:
        """Subscribes to the traces, starts continuous mode with
        ``settings`` and yields the stream; stops continuous mode at the
        end::

            async with board.scope.running(duration=1e-3) as traces:
                async for tr in traces:
                    ...
        """
        async with self.traces(count=count) as stream:
            await self.continuous(**settings)
            try:
                yield stream
            finally:
                await self.stop()

    def done(self, *, id: str | None = None, count: int | None = None) -> EventStream[ScopeTrace]:
        """Traces published on rp.<board>.scope.done as acquisitions end
        (only acquisition ``id``'s when given)."""
        return self._events("done", lambda d: from_wire(ScopeTrace, d), id, count)
