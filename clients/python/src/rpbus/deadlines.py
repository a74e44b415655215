"""How long each call waits for its reply, derived from its settings.

The hardware time, plus the service's own timeout (so that its 408, which
says what did not come, arrives first), plus :data:`MARGIN`. The rule is
in docs/protocol.md (Client deadlines); ``client/testdata/deadlines.json``
in the repository holds its values for a table of settings, checked by
the Go, Python and JavaScript clients' tests alike. A setting that is
absent, 0, negative, not finite or not a number counts as absent here,
so the request still reaches the service, which answers 400 at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MARGIN", "scope_wait", "na_wait", "specan_wait", "txn_wait"]

MARGIN = 4.0
"""Seconds a call waits beyond the service's own timeout."""

_CLOCK = 125e6
_SAMPLES = 16384
_MAX_DECIMATION = 1 << 16
_MAX_POINTS = 100000
_MIN_AUTO_RBW = 1.186
_DEFAULT_TIMEOUT = 5.0
_READOUT = 2 * _SAMPLES * 200e-9
"""Seconds the board's bus takes to read one trace's two buffers (2 x 16384
words at 200 ns a read), counted in every scope and spectrum trace."""


def _positive(v: Any, default: float) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
        return float(v)
    return default


def _decimation(v: Any) -> int | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and 1 <= v <= _MAX_DECIMATION:
        return int(v)
    return None


def _pow2_at_least(x: float) -> int:
    d = 1
    while d < x and d < _MAX_DECIMATION:
        d *= 2
    return d


def scope_wait(s: Mapping[str, Any]) -> float:
    """scope.single: per x n + service (x n with a trigger) + MARGIN.

    per is one trace's acquisition and readout."""
    dec = _decimation(s.get("decimation"))
    if dec is None:
        duration = _positive(s.get("duration"), 0.0)
        dec = _pow2_at_least(duration / (_SAMPLES / _CLOCK) * (1 - 1e-12)) if duration else 1
    dt = dec / _CLOCK
    immediate = s.get("trigger_source") in (None, "", "immediately")
    samples = float(_SAMPLES)
    delay = s.get("trigger_delay")
    if not immediate and isinstance(delay, (int, float)) and math.isfinite(delay):
        samples = max(samples, _SAMPLES / 2 + delay / dt)
    per = samples * dt + _READOUT
    n = _positive(s.get("trace_average"), 1.0)
    service = _positive(s.get("timeout"), 0.0) or min(1 + 2 * per * n, 3600.0)
    return per * n + (1 if immediate else n) * service + MARGIN


def na_wait(s: Mapping[str, Any]) -> float:
    """na.single: H + (timeout or 2 H + 5 s) + MARGIN."""
    start = _positive(s.get("start_freq"), 1e3)
    stop = _positive(s.get("stop_freq"), 10e6)
    points = min(int(_positive(s.get("points"), 1001)), _MAX_POINTS)
    rbw = _positive(s.get("rbw"), 1e3)
    avg = _positive(s.get("average_per_point") or s.get("avg_per_point"), 1.0)
    q = _positive(s.get("q_factor_min"), 10.0)
    log = s.get("logscale") is not False
    auto = bool(s.get("auto_bandwidth"))
    h = 0.0
    for i in range(points):
        x = i / (points - 1) if points > 1 else 0.0
        f = start * (stop / start) ** x if log else start + (stop - start) * x
        bw = max(min(f / q, rbw), _MIN_AUTO_RBW) / 2 if auto else rbw
        h += (3 if i == 0 else 1) * (0.5 + avg) / bw
    h *= _positive(s.get("trace_average"), 1.0)
    service = _positive(s.get("timeout"), 0.0) or 2 * h + 5
    return h + service + MARGIN


def specan_wait(s: Mapping[str, Any]) -> float:
    """specan.single: A + (timeout or 5 s + 2 A) + MARGIN.

    A is the traces' acquisition and readout."""
    dec = _decimation(s.get("decimation"))
    span, rbw = _positive(s.get("span"), 0.0), _positive(s.get("rbw"), 0.0)
    if dec is None and span:
        dec = 1
        while dec < _MAX_DECIMATION and _CLOCK / (2 * dec) >= span * (1 - 1e-12):
            dec *= 2
    elif dec is None and rbw:
        dec = _pow2_at_least(8 * _CLOCK / (_SAMPLES * rbw))
    elif dec is None:
        dec = 8
    a = (dec * _SAMPLES / _CLOCK + _READOUT) * _positive(s.get("trace_average"), 1.0)
    service = _positive(s.get("timeout"), 0.0) or 5 + 2 * a
    return a + service + MARGIN


def txn_wait(ops: Iterable[Mapping[str, Any]]) -> float:
    """hw.txn: 5 s plus each wait op's timeout (1 s when it gives none)
    and each op's after (the bridge holds a timed op back that long)."""
    ops = list(ops)
    waits = sum(_positive(op.get("timeout"), 1.0) for op in ops if op.get("op") == "wait")
    return _DEFAULT_TIMEOUT + waits + sum(_positive(op.get("after"), 0.0) for op in ops)
