"""The spectrum analyzer: rp.<board>.specan.single, cancel, stop and its
events (done, progress).

A spectrum averages ``trace_average`` scope traces of 16384 samples at
``decimation`` (sample rate 125 MHz / decimation = the span): each trace
takes ``decimation x 16384 x 8 ns``. The client waits
:func:`rpbus.deadlines.specan_wait` seconds for a reply.
"""

from __future__ import annotations

import math
from typing import Any

from .client import EventStream, Instrument, _given
from .deadlines import specan_wait
from .types import Progress, Spectrum, from_wire

__all__ = ["SpectrumAnalyzer"]



class SpectrumAnalyzer(Instrument):
    """The board's spectrum analyzer (PyRPL's normalisation and units)."""

    module = "specan"

    async def single(
        self,
        *,
        span: float | None = None,
        decimation: int | None = None,
        input1: str | None = None,
        input2: str | None = None,
        window: str | None = None,
        trace_average: int | None = None,
        unit: str | None = None,
        cross: bool | None = None,
        timeout: float | None = None,
        rbw: float | None = None,
        display_unit: str | None = None,
        input1_baseband: str | None = None,
        input2_baseband: str | None = None,
        baseband: bool | None = None,
        id: str | None = None,
        save: bool | None = None,
        name: str | None = None,
        tags: list[str] | None = None,
        request_timeout: float | None = None,
    ) -> Spectrum:
        """The spectra of both inputs (and their cross spectrum with
        ``cross``), power-averaged over ``trace_average`` traces.

        ``span`` (Hz) or ``decimation``, at most one; ``window`` (blackman,
        flattop, boxcar, hamming, gaussian); ``unit`` (Vpk^2, dB(Vpk^2),
        Vpk, Vrms^2, dB(Vrms^2), Vrms, Vrms^2/Hz, dB(Vrms^2/Hz),
        Vrms/sqrt(Hz)); ``timeout``: the *service's* limit. ``id`` names
        the acquisition; ``request_timeout`` overrides the client's wait.
        ``save`` stores the result in the curve store (``name``, ``tags``
        label it there) before the reply, whose ``curve`` is then its id.

        PyRPL's names: ``rbw`` (Hz) picks the decimation whose rbw (ENBW x
        125 MHz / decimation) is nearest, instead of ``span`` or
        ``decimation``; ``display_unit`` is ``unit``, ``input1_baseband``
        and ``input2_baseband`` are ``input1`` and ``input2``; ``baseband``
        must be true.

        Cancelling the awaiting task cancels the acquisition on the service.
        """
        body = _given(
            span=span,
            decimation=decimation,
            input1=input1,
            input2=input2,
            window=window,
            trace_average=trace_average,
            unit=unit,
            cross=cross,
            timeout=timeout,
            rbw=rbw,
            display_unit=display_unit,
            input1_baseband=input1_baseband,
            input2_baseband=input2_baseband,
            baseband=baseband,
            id=id,
            save=save,
            name=name,
            tags=tags,
        )
        wait = request_timeout if request_timeout is not None else specan_wait(body)
        return from_wire(Spectrum, await self._acquire("single", body, wait))

    def done(self, *, id: str | None = None, count: int | None = None) -> EventStream[Spectrum]:
        """Spectra published on rp.<board>.specan.done as they end."""
        return self._events("done", lambda d: from_wire(Spectrum, d), id, count)

    def progress(self, *, id: str | None = None, count: int | None = None) -> EventStream[Progress]:
        """Traces averaged so far (done of total)."""
        return self._events("progress", lambda d: from_wire(Progress, d), id, count)


