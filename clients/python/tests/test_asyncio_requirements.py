"""The examples of the original asyncio requirements, with this client:
a scope and a network analyzer asked for one curve each at the same time
inside a loop of n iterations, both awaited and summed; and a spectrum
analyzer averaging 10 scope curves (``ensure_future`` of a coroutine that
awaits them in a plain loop)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import rpbus

POINTS = 128  # NA points; the scope trace is averaged down to as many
N = 16384


async def test_scope_and_na_at_once_in_a_loop(board: rpbus.Board) -> None:
    overlaps = []

    async def my_coroutine(n: int) -> np.ndarray:
        c1 = np.zeros(POINTS)
        c2 = np.zeros(POINTS)
        for _ in range(n):
            f = asyncio.ensure_future(board.scope.single(decimation=1024, input1="in1"))
            g = asyncio.ensure_future(board.na.single(start_freq=100e3, stop_freq=10e6, points=POINTS, rbw=10e3))
            trace = await f
            sweep = await g
            c1 += np.abs(trace.ch1).reshape(POINTS, -1).mean(axis=1)
            c2 += np.abs(sweep.response)
            overlaps.append(min(trace.ended, sweep.ended) - max(trace.started, sweep.started))
        return c1 + c2

    n = 3
    p = asyncio.ensure_future(my_coroutine(n))
    total = await p
    assert total.shape == (POINTS,) and np.all(np.isfinite(total))
    # Both ran at once in every iteration: their hardware intervals
    # (scope 134 ms, sweep ~20 ms, both started together) overlap.
    assert len(overlaps) == n and all(o > 0 for o in overlaps), overlaps
    # The NA part peaks at the resonance: |H| = 1 at 1 MHz, summed n times.
    assert total.max() >= n * 0.9


async def test_gather_scope_and_na(board: rpbus.Board) -> None:
    trace, sweep = await asyncio.gather(
        board.scope.single(decimation=1024),
        board.na.single(start_freq=500e3, stop_freq=2e6, points=51, rbw=5e3),
    )
    assert trace.ch1.size == N and sweep.re.size == 51
    assert min(trace.ended, sweep.ended) > max(trace.started, sweep.started)


class SpecAn:
    """The requirements' SpecAn: ``run_single(avg)`` awaits ``avg`` scope
    curves one after the other and averages their power spectra."""

    def __init__(self, scope: rpbus.Scope) -> None:
        self.scope = scope

    async def run_single(self, avg: int) -> tuple[np.ndarray, np.ndarray]:
        w = np.blackman(N)
        y = np.zeros(N // 2 + 1)
        dt = 0.0
        for _ in range(avg):
            trace = await self.scope.single(decimation=8, input1="out1")
            dt = trace.dt
            y += np.abs(np.fft.rfft(trace.ch1 * w) * 2 / w.sum()) ** 2
        return np.fft.rfftfreq(N, dt), y / avg


TONE = 1e6
AMPLITUDE = 0.5
# Blackman's scalloping loss is up to 1.1 dB off-bin; the tone sits within
# a bin of an FFT bin here, so compare amplitudes to 15 %.
BLACKMAN_TOL = 0.15


async def test_spectrum_analyzer_averaging_ten_scope_curves(board: rpbus.Board) -> None:
    await board.asg0.setup(
        waveform="sin", frequency=TONE, amplitude=AMPLITUDE, output_direct="out1", trigger_source="immediately"
    )
    try:
        sa = SpecAn(board.scope)
        v = asyncio.ensure_future(sa.run_single(10))
        f, y = await v
        assert v.done() and v.result()[1] is y
        k = int(np.argmax(y[1:])) + 1
        assert abs(f[k] - TONE) <= f[1]
        assert np.sqrt(y[k]) == pytest.approx(AMPLITUDE, rel=BLACKMAN_TOL)
    finally:
        await board.asg0.setup(output_direct="off")


async def test_specan_service_averaging_ten_scope_curves(board: rpbus.Board) -> None:
    await board.asg0.setup(
        waveform="sin", frequency=TONE, amplitude=AMPLITUDE, output_direct="out1", trigger_source="immediately"
    )
    try:
        v = asyncio.ensure_future(board.specan.single(trace_average=10, decimation=8, input1="out1"))
        sp = await v
        assert sp.traces == 10
        k = int(np.argmax(sp.ch1))
        assert abs(sp.frequencies[k] - TONE) <= sp.frequencies[1]
        assert np.sqrt(sp.ch1[k]) == pytest.approx(AMPLITUDE, rel=0.01)  # flat-top: amplitude-true
    finally:
        await board.asg0.setup(output_direct="off")
