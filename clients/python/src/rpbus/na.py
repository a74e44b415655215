"""The network analyzer: rp.<board>.na.single, cancel, stop and its events
(done, progress).

A sweep measures the transfer function re + i*im (V/V) at ``points``
frequencies. As in PyRPL, each point settles for half a bandwidth time and
then averages ``average_per_point`` bandwidth times, and the first point
settles three times as long::

    t_point = (0.5 + average_per_point) / rbw_i         (s)
    sweep   = (3 t_0 + t_1 + ... + t_{points-1}) x trace_average

with ``rbw_i = min(max(f_i / q_factor_min, 1.186 Hz), rbw)`` under
``auto_bandwidth``, else ``rbw``. The client waits
:func:`rpbus.deadlines.na_wait` seconds for a reply.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .client import EventStream, Instrument, _given
from .deadlines import na_wait
from .types import NATrace, Progress, from_wire

__all__ = ["NetworkAnalyzer"]


class NetworkAnalyzer(Instrument):
    """The board's network analyzer (it borrows a free IQ module per
    sweep, so several sweeps may run at once)."""

    module = "na"

    async def single(
        self,
        *,
        start_freq: float | None = None,
        stop_freq: float | None = None,
        points: int | None = None,
        rbw: float | None = None,
        average_per_point: int | None = None,
        avg_per_point: int | None = None,
        amplitude: float | None = None,
        input: str | None = None,
        output_direct: str | None = None,
        acbandwidth: float | None = None,
        logscale: bool | None = None,
        auto_bandwidth: bool | None = None,
        q_factor_min: float | None = None,
        trace_average: int | None = None,
        timeout: float | None = None,
        no_wait: bool | None = None,
        id: str | None = None,
        save: bool | None = None,
        name: str | None = None,
        tags: list[str] | None = None,
        request_timeout: float | None = None,
    ) -> NATrace:
        """Sweeps from ``start_freq`` to ``stop_freq`` (Hz) in ``points``
        points of bandwidth ``rbw`` (Hz), driving ``output_direct`` with
        ``amplitude`` (V) and measuring ``input``. ``timeout`` is the
        *service's* limit (default 2 x the sweep + 5 s); ``no_wait``
        answers 409 instead of waiting for a free IQ module.
        ``avg_per_point`` is PyRPL's older name of ``average_per_point``. ``id`` names
        the acquisition; ``request_timeout`` overrides the client's wait.
        ``save`` stores the result in the curve store (``name``, ``tags``
        label it there) before the reply, whose ``curve`` is then its id.

        Cancelling the awaiting task cancels the sweep on the service.
        """
        body = _given(
            start_freq=start_freq,
            stop_freq=stop_freq,
            points=points,
            rbw=rbw,
            average_per_point=average_per_point,
            avg_per_point=avg_per_point,
            amplitude=amplitude,
            input=input,
            output_direct=output_direct,
            acbandwidth=acbandwidth,
            logscale=logscale,
            auto_bandwidth=auto_bandwidth,
            q_factor_min=q_factor_min,
            trace_average=trace_average,
            timeout=timeout,
            no_wait=no_wait,
            id=id,
            save=save,
            name=name,
            tags=tags,
        )
        wait = request_timeout if request_timeout is not None else na_wait(body)
        return from_wire(NATrace, await self._acquire("single", body, wait))

    def done(self, *, id: str | None = None, count: int | None = None) -> EventStream[NATrace]:
        """Sweeps published on rp.<board>.na.done as they end."""
        return self._events("done", lambda d: from_wire(NATrace, d), id, count)

    def progress(self, *, id: str | None = None, count: int | None = None) -> EventStream[Progress]:
        """Points as they are measured: done of total, and the latest
        point's frequency, re and im."""
        return self._events("progress", lambda d: from_wire(Progress, d), id, count)


