"""The spectrum analyzer through the Python client."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import rpbus


TONE = 1e6  # Hz
AMPLITUDE = 0.5  # V
# The flat-top window's scalloping loss is below 0.02 dB (0.5 % in power)
# and the sine is exact on out1: 1 % on the peak in Vpk^2.
PEAK_TOL = 0.01


@pytest.fixture
async def sine(board: rpbus.Board):  # type: ignore[no-untyped-def]
    s = await board.asg0.setup(
        waveform="sin", frequency=TONE, amplitude=AMPLITUDE, offset=0.0, output_direct="out1", trigger_source="immediately"
    )
    yield s
    await board.asg0.setup(output_direct="off")


async def test_averages_ten_scope_curves(board: rpbus.Board, sine: rpbus.ASGSettings) -> None:
    async with board.specan.progress(id="py-test-specan") as progress:
        task = asyncio.ensure_future(
            board.specan.single(trace_average=10, input1="out1", decimation=8, id="py-test-specan")
        )
        dones = [p.done async for p in progress.until(task)]
        sp = await task
    assert isinstance(sp, rpbus.Spectrum)
    assert sp.traces == 10 and sp.settings.trace_average == 10
    assert dones[-1] == 10
    assert sp.settings.window == "flattop" and sp.settings.unit == "Vpk^2"
    assert sp.frequencies.dtype == np.float64 and sp.ch1.shape == sp.frequencies.shape
    bin_width = 125e6 / 8 / 16384
    k = int(np.argmax(sp.ch1))
    assert abs(sp.frequencies[k] - sine.frequency) <= bin_width
    assert sp.ch1[k] == pytest.approx(AMPLITUDE**2, rel=PEAK_TOL)
    assert sp.rbw == pytest.approx(sp.enbw * 125e6 / 8)


async def test_cross_spectrum(board: rpbus.Board, sine: rpbus.ASGSettings) -> None:
    sp = await board.specan.single(input1="out1", input2="out1", cross=True, decimation=8)
    k = int(np.argmax(sp.ch1))
    assert sp.cross_unit == "Vpk^2"
    # Same signal on both inputs: the cross spectrum is real and equal to ch1.
    assert sp.cross[k].real == pytest.approx(sp.ch1[k], rel=PEAK_TOL)
    assert abs(sp.cross[k].imag) < PEAK_TOL * sp.ch1[k]


@pytest.mark.parametrize(
    "settings,field",
    [({"window": "triangle"}, "window"), ({"unit": "W"}, "unit"), ({"decimation": 5}, "decimation")],
)
async def test_bad_settings_are_400(board: rpbus.Board, settings: dict, field: str) -> None:
    with pytest.raises(rpbus.InvalidError) as ei:
        await board.specan.single(**settings)
    assert ei.value.message.startswith(field), ei.value.message


async def test_pyrpl_names(board: rpbus.Board) -> None:
    sp = await board.specan.single(rbw=449, display_unit="dB(Vrms^2/Hz)", input1_baseband="in2", baseband=True)
    assert sp.settings.decimation == 64 and abs(sp.rbw - 449.5) < 1
    assert sp.settings.unit == "dB(Vrms^2/Hz)" and sp.settings.input1 == "in2"
    with pytest.raises(rpbus.InvalidError, match="baseband"):
        await board.specan.single(baseband=False)
    with pytest.raises(rpbus.InvalidError, match="display_unit, unit"):
        await board.specan.single(display_unit="Vpk", unit="Vrms")
