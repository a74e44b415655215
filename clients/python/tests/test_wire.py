"""The wire contract without a server: arrays, errors, timeouts."""

from __future__ import annotations

import json

import msgpack
import numpy as np
import pytest

import rpbus
from rpbus import _wire, deadlines
from rpbus.local import repo_root
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


def test_deadlines_table() -> None:
    """The deadlines are the table's, which the Go and JS tests check too."""
    root = repo_root()
    assert root is not None
    table = json.loads((root / "client" / "testdata" / "deadlines.json").read_text())
    waits = {
        "scope.single": deadlines.scope_wait,
        "na.single": deadlines.na_wait,
        "specan.single": deadlines.specan_wait,
        "hw.txn": lambda s: deadlines.txn_wait(s["ops"]),
    }
    assert table["cases"]
    for c in table["cases"]:
        assert waits[c["call"]](c["settings"]) == pytest.approx(c["wait"], abs=1e-6), c


def test_deadlines_ignore_what_is_not_a_number() -> None:
    # The service answers 400 for these; the wait stays that of the defaults.
    assert deadlines.na_wait({"rbw": "abc", "points": None}) == pytest.approx(deadlines.na_wait({}))
    assert deadlines.scope_wait({"decimation": "x", "timeout": float("nan")}) == pytest.approx(deadlines.scope_wait({}))
    assert deadlines.specan_wait({"span": float("inf")}) == pytest.approx(deadlines.specan_wait({}))
