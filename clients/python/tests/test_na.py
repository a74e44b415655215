"""The network analyzer through the Python client, against the simulated
board's DUT: out1 -> in1 a resonance (f0 1 MHz, Q 10, gain 1), out2 -> in2
a low-pass (fc 100 kHz, gain 1)."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

import rpbus


F0 = 1e6  # Hz, the resonance
FC = 100e3  # Hz, the low-pass corner
# Relative error allowed on |H|: the input noise (1e-7 V/sqrt(Hz)) in a
# ~1.2 kHz bandwidth is ~4 uV against a 0.1 V drive (4e-5), and the drive's
# 14-bit amplitude step is 1e-4 relative; 2e-3 leaves ample room.
H_TOL = 2e-3
PHASE_TOL = 1.0  # degrees at f0, where the phase crosses 0 with slope 2Q/f0 per Hz


async def test_resonance(board: rpbus.Board) -> None:
    # A log grid from 0.5 to 2 MHz in 101 points has 1 MHz at index 50.
    s = await board.na.single(start_freq=500e3, stop_freq=2e6, points=101, rbw=1e3)
    assert isinstance(s, rpbus.NATrace)
    assert s.frequencies.dtype == np.float64 and s.frequencies.shape == (101,)
    assert s.re.shape == s.im.shape == (101,)
    assert s.iq in ("iq0", "iq1", "iq2")
    h = s.response
    k = int(np.argmax(np.abs(h)))
    assert k == 50 and s.frequencies[k] == pytest.approx(F0, rel=1e-6)
    assert abs(h[k]) == pytest.approx(1.0, rel=H_TOL)
    assert abs(np.angle(h[k], deg=True)) < PHASE_TOL
    assert s.settings.points == 101 and s.settings.logscale is True
    assert s.hardware_time > 0 and s.started <= s.ended


async def test_low_pass(board: rpbus.Board) -> None:
    s = await board.na.single(start_freq=10e3, stop_freq=1e6, points=21, rbw=1e3, input="in2", output_direct="out2")
    f, h = s.frequencies, np.abs(s.response)
    want = 1 / np.sqrt(1 + (f / FC) ** 2)
    np.testing.assert_allclose(h, want, rtol=H_TOL)


@pytest.mark.parametrize(
    "settings,field",
    [
        ({"points": -1}, "points"),
        ({"amplitude": 1.5}, "amplitude"),
        ({"input": "in9"}, "input"),
        ({"output_direct": "out3"}, "output_direct"),
        ({"start_freq": 1e9}, "start_freq"),
    ],
)
async def test_bad_settings_are_400(board: rpbus.Board, settings: dict, field: str) -> None:
    with pytest.raises(rpbus.InvalidError) as ei:
        await board.na.single(**settings)
    assert ei.value.message.startswith(field), ei.value.message


async def test_progress_and_done_events(board: rpbus.Board) -> None:
    seen = []
    async with board.na.progress(id="py-test-progress") as progress, board.na.done(id="py-test-progress", count=1) as done:
        sweep = asyncio.ensure_future(
            board.na.single(start_freq=500e3, stop_freq=2e6, points=201, rbw=2e3, id="py-test-progress")
        )
        # Progress is periodic: iterate until the sweep has answered.
        async with asyncio.timeout(30):
            async for p in progress.until(sweep):
                seen.append(p)
        result = await sweep
        ev = await done.next(timeout=5)
    assert seen and all(p.total == 201 for p in seen)
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert 0 <= seen[0].done and seen[-1].done <= 201
    # Events after the first point carry the latest point.
    assert all(500e3 * (1 - 1e-6) <= p.frequency <= 2e6 * (1 + 1e-6) for p in seen if p.done > 0)
    assert ev.id == result.id == "py-test-progress" and ev.error is None
    np.testing.assert_array_equal(ev.re, result.re)


async def test_busy_with_no_wait(board: rpbus.Board) -> None:
    # Three long sweeps hold the three IQ modules; a fourth that may not
    # wait is a 409. All are cancelled at the end.
    long = [
        asyncio.ensure_future(board.na.single(start_freq=1e3, stop_freq=1e6, points=1000, rbw=100))
        for _ in range(3)
    ]
    try:
        err = None
        for _ in range(100):  # until all three hold their module (bounded)
            try:
                extra = await board.na.single(points=1, rbw=1e4, no_wait=True)
                assert extra.iq  # a module was still free: try again
            except rpbus.BusyError as e:
                err = e
                break
        assert err is not None and err.code == 409 and "no_wait" in err.message
    finally:
        for t in long:
            t.cancel()
        await asyncio.gather(*long, return_exceptions=True)
        await board.client.wait_cancels()


async def test_cancelling_the_task_frees_the_iq_module(
    rp: rpbus.Client, board: rpbus.Board, caplog: pytest.LogCaptureFixture
) -> None:
    # 1000 points at 100 Hz: 15 s of sweep unless cancelled.
    t = asyncio.ensure_future(board.na.single(points=1000, rbw=100, id="py-test-na-cancel"))
    with caplog.at_level(logging.DEBUG, logger="rpbus"):
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        await rp.wait_cancels()
    # The abandoned request was answered 499: the service cancelled it.
    assert any(r.getMessage() == "abandoned request py-test-na-cancel answered 499 cancelled" for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]
    with pytest.raises(rpbus.NotFoundError):
        await board.na.cancel("py-test-na-cancel")


async def test_pyrpl_name_avg_per_point(board: rpbus.Board) -> None:
    tr = await board.na.single(start_freq=1e6, stop_freq=2e6, points=5, rbw=1e4, avg_per_point=2)
    assert tr.settings.average_per_point == 2
    with pytest.raises(rpbus.InvalidError, match="avg_per_point: -1"):
        await board.na.single(avg_per_point=-1)


async def test_a_bad_setting_reaches_the_service(board: rpbus.Board) -> None:
    # The deadline rule takes rbw -5 as absent; the service answers 400.
    with pytest.raises(rpbus.InvalidError, match="rbw"):
        await board.na.single(rbw=-5)
