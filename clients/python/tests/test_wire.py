"""The wire contract without a server: arrays, errors, timeouts."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

import rpbus
from rpbus import _wire, na, scope, specan
from rpbus.errors import error_from_code
from rpbus.types import ScopeTrace, from_wire

N = 16384


def _trace_bytes(ch1: np.ndarray, ch2: np.ndarray) -> bytes:
    body = {
        "id": "scope-1",
        "board": "sim",
        "settings": {"decimation": 1, "duration": N * 8e-9, "trigger_source": "immediately", "average": True},
        "t0": 0.0,
        "dt": 8e-9,
        "ch1": {"dtype": "<f4", "shape": [N], "data": ch1.astype("<f4").tobytes()},
        "ch2": {"dtype": "<f4", "shape": [N], "data": ch2.astype("<f4").tobytes()},
        "trigger_time": 1.5,
        "requested": 1.0,
        "started": 2.0,
        "ended": 3.0,
        "a_future_field": 42,
    }
    return msgpack.packb(body, use_bin_type=True)


def test_trace_arrays_are_views_of_the_message_bytes() -> None:
    rng = np.random.default_rng(1)
    ch1, ch2 = rng.standard_normal(N).astype(np.float32), rng.standard_normal(N).astype(np.float32)
    data = _trace_bytes(ch1, ch2)
    tr = from_wire(ScopeTrace, _wire.unpack(data, "rp.sim.scope.single"))
    assert tr.ch1.dtype == np.float32 and tr.ch1.shape == (N,)
    np.testing.assert_array_equal(tr.ch1, ch1)
    np.testing.assert_array_equal(tr.ch2, ch2)
    # No per-element decoding: the array is numpy's view of the bin bytes.
    assert not tr.ch1.flags.owndata and isinstance(tr.ch1.base, bytes)
    assert not tr.ch1.flags.writeable
    assert tr.settings.decimation == 1 and tr.settings.average is True
    assert (tr.requested, tr.started, tr.ended, tr.trigger_time) == (1.0, 2.0, 3.0, 1.5)
    assert tr.times[1] - tr.times[0] == pytest.approx(8e-9)
    assert tr.times.shape == (N,)


def test_16_bit_codes_with_a_scale_decode_to_float32() -> None:
    codes = np.array([0, 1, -1, 8191, -8192, 32767, -32768], dtype="<i2")
    for scale in (1 / 8192, float(np.float32(0.37))):
        a = _wire.array({"dtype": "<i2", "shape": [codes.size], "scale": scale, "data": codes.tobytes()}, "<f4")
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, codes.astype(np.float32) * np.float32(scale))
    with pytest.raises(rpbus.InternalError):
        _wire.array({"dtype": "<i2", "scale": float("nan"), "data": codes.tobytes()}, "<f4")


def test_json_style_arrays_with_null_as_nan() -> None:
    a = _wire.array([1.0, None, 3.0], "<f4")
    assert a.dtype == np.float32 and np.isnan(a[1]) and a[2] == 3.0


def test_request_arrays_travel_as_bin() -> None:
    op = rpbus.write(0x40100008, 1, 2, 3)
    assert op["words"]["dtype"] == "<u4" and op["words"]["shape"] == [3]
    assert np.frombuffer(op["words"]["data"], "<u4").tolist() == [1, 2, 3]
    body = msgpack.unpackb(_wire.pack({"x": np.float64(2.5), "n": np.int64(3)}), raw=False)
    assert body == {"x": 2.5, "n": 3}
    assert _wire.pack({}) == b""


@pytest.mark.parametrize(
    "code,cls,base",
    [
        (400, rpbus.InvalidError, ValueError),
        (404, rpbus.NotFoundError, LookupError),
        (408, rpbus.RequestTimeoutError, TimeoutError),
        (409, rpbus.BusyError, rpbus.RpbusError),
        (499, rpbus.RequestCancelledError, rpbus.RpbusError),
        (500, rpbus.InternalError, rpbus.RpbusError),
        (503, rpbus.UnavailableError, ConnectionError),
    ],
)
def test_error_table(code: int, cls: type, base: type) -> None:
    e = _wire.check_error({"Nats-Service-Error": "msg", "Nats-Service-Error-Code": str(code)}, "rp.sim.x.y")
    assert type(e) is cls and isinstance(e, base) and isinstance(e, rpbus.RpbusError)
    assert e.code == code and e.message == "msg" and e.subject == "rp.sim.x.y"
    assert str(code) in str(e) and "msg" in str(e)


def test_error_details() -> None:
    import asyncio

    # 499 is the service's cancel, never asyncio's own.
    assert not issubclass(rpbus.RequestCancelledError, asyncio.CancelledError)
    assert type(error_from_code(418, "teapot")) is rpbus.RpbusError
    assert _wire.check_error({"Content-Type": "application/msgpack"}, "s") is None
    assert _wire.check_error(None, "s") is None
    e = _wire.check_error({"Nats-Service-Error": "x", "Nats-Service-Error-Code": "junk"}, "s")
    assert isinstance(e, rpbus.InternalError)


def test_scope_wait_time() -> None:
    assert scope.duration_of(1) == pytest.approx(131.072e-6)
    assert scope.acquisition_time() == pytest.approx(131.072e-6)
    # 1 ms rounds up to decimation 8 (1.048576 ms), as PyRPL.
    assert scope.acquisition_time(duration=1e-3) == pytest.approx(scope.duration_of(8))
    assert scope.acquisition_time(duration=scope.duration_of(8)) == pytest.approx(scope.duration_of(8))
    # A trigger delay past the half trace keeps the scope writing.
    d = scope.duration_of(1)
    assert scope.acquisition_time(trigger_source="ch1_positive_edge", trigger_delay=d) == pytest.approx(1.5 * d)
    assert scope.acquisition_time(decimation="x") == 0.0  # type: ignore[arg-type]
    # wait = acq x n + (1 s + 2 x acq x n) + margin
    acq = scope.duration_of(1024)
    assert scope._wait_time({"decimation": 1024, "trace_average": 10}) == pytest.approx(
        10 * acq + 1 + 20 * acq + rpbus.MARGIN
    )
    assert scope._wait_time({"timeout": 7.0}) == pytest.approx(scope.duration_of(1) + 7 + rpbus.MARGIN)
    # With a trigger, each of the averaged traces may wait the whole timeout.
    assert scope._wait_time({"timeout": 0.5, "trace_average": 4, "trigger_source": "ch1_positive_edge"}) == (
        pytest.approx(4 * scope.duration_of(1) + 4 * 0.5 + rpbus.MARGIN)
    )


def test_na_wait_time() -> None:
    # 1001 points at 1 kHz rbw, 1 average: 1.5 ms a point, the first x3.
    assert na.sweep_time() == pytest.approx(1003 * 1.5e-3)
    assert na.sweep_time(points=11, rbw=100, average_per_point=3, trace_average=2) == pytest.approx(2 * 13 * 3.5 / 100)
    # auto_bandwidth narrows rbw at low frequencies: longer.
    assert na.sweep_time(auto_bandwidth=True, q_factor_min=50) > na.sweep_time()
    assert na._wait_time({}) == pytest.approx(3 * na.sweep_time() + 5 + rpbus.MARGIN)


def test_specan_wait_time() -> None:
    # default decimation 8; span 1 MHz -> decimation 64 (sample rate 1.95 MHz >= span).
    assert specan.acquisition_time() == pytest.approx(8 * N * 8e-9)
    assert specan.acquisition_time(span=1e6) == pytest.approx(64 * N * 8e-9)
    assert specan.acquisition_time(decimation=1, trace_average=10) == pytest.approx(10 * N * 8e-9)
