"""The scope through the Python client, against the real service on the
simulated board."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

import rpbus


N = 16384
DT = 8e-9  # s, decimation 1
AMPLITUDE = 0.5  # V, asg0
# Relative error allowed on the rms of a 0.5 V sine seen directly on out1:
# 14-bit quantisation (1/8192 V) and the partial period at the end of a
# trace (<= 1/(2 x periods) = 5e-4 at 1048 periods) are far below 1 %.
RMS_TOL = 0.01
# Through the simulated DUT at its 1 MHz resonance (gain 1): add the input
# noise, 1e-7 V/sqrt(Hz) over 62.5 MHz = 0.8 mV rms, boxcar-averaged over 8
# samples: its effect on the rms is ~1e-5, so the same tolerance holds.


@pytest.fixture
async def sine(board: rpbus.Board):  # type: ignore[no-untyped-def]
    s = await board.asg0.setup(waveform="sin", frequency=1e6, amplitude=AMPLITUDE, offset=0.0, output_direct="out1", trigger_source="immediately"
    )
    yield s
    await board.asg0.setup(output_direct="off")


async def test_single_returns_float32_volts(board: rpbus.Board) -> None:
    tr = await board.scope.single(decimation=1, trigger_source="immediately")
    assert isinstance(tr, rpbus.ScopeTrace)
    assert tr.board == "sim" and tr.id
    for ch in (tr.ch1, tr.ch2):
        assert ch.dtype == np.float32 and ch.shape == (N,)
        # Sent as 14-bit ADC codes: every value is a whole number of 2^-13 V.
        codes = ch * 8192
        assert np.array_equal(codes, np.round(codes)) and codes.min() >= -8192 and codes.max() <= 8191
    assert tr.dt == pytest.approx(DT)
    assert tr.t0 == 0.0
    assert tr.times.shape == (N,) and tr.times[-1] == pytest.approx((N - 1) * DT)
    s = tr.settings
    assert (s.decimation, s.trigger_source, s.trace_average, s.input1, s.input2) == (1, "immediately", 1, "in1", "in2")
    assert s.duration == pytest.approx(N * DT)
    assert tr.requested <= tr.started <= tr.ended


async def test_duration_rounds_up_as_pyrpl(board: rpbus.Board) -> None:
    tr = await board.scope.single(duration=1e-3, trigger_source="immediately")
    assert tr.settings.decimation == 8
    assert tr.settings.duration == pytest.approx(N * 8 * DT)
    assert tr.dt == pytest.approx(8 * DT)


async def test_scope_sees_the_generator(board: rpbus.Board, sine: rpbus.ASGSettings) -> None:
    tr = await board.scope.single(duration=1e-3, input1="out1", input2="in1")
    want = AMPLITUDE / np.sqrt(2)
    assert np.sqrt(np.mean(np.square(tr.ch1, dtype=np.float64))) == pytest.approx(want, rel=RMS_TOL)
    assert np.sqrt(np.mean(np.square(tr.ch2, dtype=np.float64))) == pytest.approx(want, rel=RMS_TOL)
    # The tone is where the generator put it.
    spec = np.abs(np.fft.rfft(tr.ch1 * np.hanning(N)))
    f = np.fft.rfftfreq(N, tr.dt)
    assert abs(f[np.argmax(spec)] - sine.frequency) <= f[1]


@pytest.mark.parametrize(
    "settings,field",
    [
        ({"decimation": 3}, "decimation"),
        ({"duration": 1e-3, "decimation": 8}, "duration, decimation"),
        ({"trigger_source": "sometimes"}, "trigger_source"),
        ({"threshold": 2.0}, "threshold"),
        ({"trace_average": 100000}, "trace_average"),
        ({"input1": "in3"}, "input1"),
    ],
)
async def test_bad_settings_are_400_naming_the_field(board: rpbus.Board, settings: dict, field: str) -> None:
    with pytest.raises(rpbus.InvalidError) as ei:
        await board.scope.single(**settings)
    assert ei.value.code == 400
    assert ei.value.message.startswith(field), ei.value.message


async def test_no_trigger_is_408_from_the_service(board: rpbus.Board) -> None:
    # in2 carries only noise (0.8 mV rms): a 0.9 V edge never comes.
    with pytest.raises(rpbus.RequestTimeoutError) as ei:
        await board.scope.single(input1="in2", trigger_source="ch1_positive_edge", threshold=0.9, timeout=0.2)
    assert ei.value.code == 408
    assert ei.value.subject == "rp.sim.scope.single"
    assert "no reply within" not in ei.value.message  # the service's 408, not the client's


async def test_cancelling_the_task_cancels_on_the_service(
    rp: rpbus.Client, board: rpbus.Board, caplog: pytest.LogCaptureFixture
) -> None:
    # 64 traces of 134 ms: 8.6 s of hardware time if nothing stops it.
    long = asyncio.create_task(board.scope.single(decimation=1024, trace_average=64, id="py-test-long"))
    with caplog.at_level(logging.DEBUG, logger="rpbus"):
        await asyncio.sleep(0)  # let it send its request
        long.cancel()
        with pytest.raises(asyncio.CancelledError):
            await long
        await rp.wait_cancels()
    # The abandoned request was answered 499: the service cancelled it.
    assert any(r.getMessage() == "abandoned request py-test-long answered 499 cancelled" for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]
    # The scope is free: a short trace comes at once, not after 8.6 s.
    tr = await board.scope.single(decimation=1, request_timeout=5.0)
    assert tr.ch1.size == N
    with pytest.raises(rpbus.NotFoundError):
        await board.scope.cancel("py-test-long")


async def test_explicit_cancel_gives_499(board: rpbus.Board) -> None:
    long = asyncio.create_task(board.scope.single(decimation=1024, trace_average=64, id="py-test-499"))
    # A cancel that overtakes its request answers 404 but is remembered by
    # the service, which then cancels the request as it starts.
    reply = None
    for _ in range(200):  # bounded
        try:
            reply = await board.scope.cancel("py-test-499")
            break
        except rpbus.NotFoundError:
            if long.done():
                break
            await asyncio.sleep(0.01)
    if reply is not None:
        assert reply.cancelled and reply.id == "py-test-499"
    with pytest.raises(rpbus.RequestCancelledError) as ei:
        await long
    assert ei.value.code == 499
    assert not isinstance(ei.value, asyncio.CancelledError)


async def test_done_event(board: rpbus.Board) -> None:
    async with board.scope.done(id="py-test-done", count=1) as done:
        tr = await board.scope.single(decimation=2, id="py-test-done")
        ev = await done.next(timeout=5)
    assert ev.id == tr.id == "py-test-done"
    assert ev.error is None
    np.testing.assert_array_equal(ev.ch1, tr.ch1)


async def test_continuous_traces_have_sequence_numbers(board: rpbus.Board) -> None:
    seqs = []
    async with board.scope.running(decimation=1, count=5) as traces:
        async for tr in traces:
            assert tr.ch1.shape == (N,)
            seqs.append(tr.seq)
    assert len(seqs) == 5
    assert all(b > a for a, b in zip(seqs, seqs[1:])), seqs
    # running() stopped continuous mode on the way out.
    assert (await board.scope.stop()).continuous is False


async def test_concurrent_singles_all_answer(board: rpbus.Board) -> None:
    trs = await asyncio.gather(*(board.scope.single(decimation=1) for _ in range(32)))
    assert len({t.id for t in trs}) == 32
    assert all(t.ch1.size == N for t in trs)


async def test_rolling_mode_marks_unwritten_samples_nan(board: rpbus.Board) -> None:
    # 8.6 s traces (decimation 65536) run in rolling mode, read every
    # 50 ms: the first trace after arming is mostly NaN, not yet written.
    async with board.scope.running(decimation=65536, count=2) as traces:
        first = await traces.next(timeout=10)
    assert first.ch1.dtype == np.float32 and first.ch1.shape == (N,)
    assert np.isnan(first.ch1).any() and np.isfinite(first.ch1).any()
    # Oldest first, the newest sample at t = 0.
    assert first.times[-1] == pytest.approx(0.0, abs=first.dt / 2)
