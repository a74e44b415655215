"""Typed replies and events, mirroring the Go package ``api``.

Field names are the wire's (PyRPL's names and units: seconds, hertz,
volts). Numeric arrays are numpy arrays read in place from the reply's
bytes (``numpy.frombuffer``): they are **read-only** views, shared with the
message; ``numpy.array(trace.ch1)`` gives a writable copy. Scope samples
sent as 16-bit codes (single traces) are the exception: scaling them to
float32 volts makes arrays of their own. Fields a reply
leaves out take the zero value, as in Go; fields this client does not know
(a newer service) are ignored.

Times of :class:`Timing` (``requested``, ``started``, ``ended``) are Unix
seconds on the host that ran the service.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from . import _wire
from .errors import RpbusError

__all__ = [
    "HWDesign",
    "HWInfo",
    "OpResult",
    "TxnReply",
    "TxnCancelReply",
    "ASGSettings",
    "Timing",
    "Progress",
    "CancelReply",
    "StopReply",
    "ScopeSettings",
    "ScopeTrace",
    "ContinuousReply",
    "NASettings",
    "NATrace",
    "SpecanSettings",
    "Spectrum",
    "from_wire",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]
U16 = npt.NDArray[np.uint16]

T = TypeVar("T")


def _arr(dtype: str) -> Any:
    """A numpy array field: the wire's dtype, empty by default."""
    return field(default_factory=lambda: np.empty(0, dtype=dtype), metadata={"array": dtype})


def _nested(cls: type) -> Any:
    return field(default_factory=cls, metadata={"nested": cls})


def _list_of(cls: type) -> Any:
    return field(default_factory=list, metadata={"list_of": cls})


@functools.cache
def _plan(cls: type) -> tuple[tuple[str, str, Any], ...]:
    plan = []
    for f in dataclasses.fields(cls):
        md = f.metadata
        if "local" in md:
            continue
        if "array" in md:
            plan.append((f.name, "array", md["array"]))
        elif "nested" in md:
            plan.append((f.name, "nested", md["nested"]))
        elif "list_of" in md:
            plan.append((f.name, "list_of", md["list_of"]))
        else:
            plan.append((f.name, "plain", None))
    return tuple(plan)


def from_wire(cls: type[T], d: Mapping[str, Any] | None) -> T:
    """Builds dataclass ``cls`` from a decoded reply, ignoring unknown keys."""
    kw: dict[str, Any] = {}
    if d:
        plan: tuple[tuple[str, str, Any], ...] = _plan(cls)  # type: ignore[arg-type]
        for name, kind, arg in plan:
            if name not in d:
                continue
            v = d[name]
            if kind == "array":
                v = _wire.array(v, arg)
            elif kind == "nested":
                v = from_wire(arg, v)
            elif kind == "list_of":
                v = [from_wire(arg, x) for x in (v or [])]
            kw[name] = v
    return cls(**kw)


# --- hardware bridge -------------------------------------------------------


@dataclass
class HWDesign:
    """The FPGA design a bridge checked before serving (hw.info's design)."""

    name: str = ""  # "PyRPL"
    signature: str = ""  # the registers that identified it
    dna: str = ""  # the Zynq's device DNA, hex: unique per chip
    loader: str = ""  # devmem: "xdevcfg /dev/xdevcfg" or "fpgautil PATH"; "" when the bridge loaded nothing
    bitstream: str = ""  # the file --bitstream loaded
    sha256: str = ""  # its SHA-256, hex


@dataclass
class HWInfo:
    """What rp.<board>.hw.info says the board is."""

    board: str = ""
    backend: str = ""  # sim, monitor or devmem
    address: str = ""  # monitor: the board's host:port; devmem: the mapped device or file
    clock: float = 0.0  # Hz
    bitstream: str = ""
    scope_samples: int = 0  # per scope channel
    decimations: list[int] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    generators: list[str] = field(default_factory=list)
    version: str = ""
    sim_model: Any = None  # sim: the analog model's configuration
    os: str = ""  # devmem: the board's operating system
    design: HWDesign | None = field(default=None, metadata={"nested": HWDesign})


@dataclass
class OpResult:
    """The result of one hw.txn operation, at the same index as its op."""

    words: U32 = _arr("<u4")  # read: the words
    halves: U16 = _arr("<u2")  # read with width 16: the low 16 bits of each word
    waited: float = 0.0  # wait: seconds waited


@dataclass
class TxnReply:
    """The answer to rp.<board>.hw.txn."""

    results: list[OpResult] = _list_of(OpResult)
    modules: list[str] = field(default_factory=list)  # the FPGA modules held
    started: float = 0.0  # when it got its modules, Unix s (the bridge's clock)
    elapsed: float = 0.0  # s from then to the end of its last op


@dataclass
class TxnCancelReply:
    id: str = ""
    cancelled: bool = False


@dataclass
class ASGSettings:
    """A generator's state as applied, rounded to the hardware's steps."""

    generator: str = ""
    waveform: str = ""
    frequency: float = 0.0  # Hz
    amplitude: float = 0.0  # V
    offset: float = 0.0  # V
    start_phase: float = 0.0  # degrees
    output_direct: str = ""
    trigger_source: str = ""
    cycles_per_burst: int = 0
    bursts: int = 0
    delay_between_bursts: float = 0.0  # s


# --- acquisitions ----------------------------------------------------------


@dataclass
class Timing:
    """When an acquisition ran, in Unix seconds (the service host's clock).

    ``error`` is not on the wire: a done event of an acquisition that
    failed carries the error headers of its reply, and the event stream
    puts them here (None for replies and successful acquisitions)."""

    requested: float = 0.0  # request received
    started: float = 0.0  # hardware work began
    ended: float = 0.0  # hardware work ended
    error: RpbusError | None = field(default=None, compare=False, metadata={"local": True})


@dataclass
class Progress:
    """Published on rp.<board>.<module>.progress while an acquisition runs."""

    id: str = ""
    done: int = 0  # points or traces done
    total: int = 0  # points or traces in all
    frequency: float = 0.0  # NA only: the latest point (Hz)
    re: float = 0.0  # NA only: its transfer function, V/V
    im: float = 0.0


@dataclass
class CancelReply:
    id: str = ""
    cancelled: bool = False


@dataclass
class StopReply:
    cancelled: int = 0  # acquisitions cancelled
    continuous: bool = False  # whether continuous mode was running


# --- scope -----------------------------------------------------------------


@dataclass
class ScopeSettings:
    """Scope settings as applied (see docs/scope.md for ranges)."""

    id: str = ""
    input1: str = ""
    input2: str = ""
    duration: float = 0.0  # s: 16384 x 8 ns x decimation
    decimation: int = 0
    trigger_source: str = ""
    threshold: float = 0.0  # V
    hysteresis: float = 0.0  # V
    trigger_delay: float = 0.0  # s
    average: bool | None = None
    trace_average: int = 0
    timeout: float = 0.0  # s
    save: bool = False  # stored in the curve store; the reply's curve is its id
    name: str = ""  # the saved curve's name
    tags: list[str] = field(default_factory=list)  # the saved curve's tags
    save_every: int = 0  # continuous: one trace in N saved


@dataclass
class ScopeTrace(Timing):
    """One scope trace: answers scope.single, published on scope.done and
    (continuous) scope.trace. Sample i was taken at ``t0 + i*dt`` seconds
    relative to the trigger (0 .. duration for "immediately")."""

    id: str = ""
    board: str = ""
    seq: int = 0  # continuous: 1, 2, ... so gaps show
    settings: ScopeSettings = _nested(ScopeSettings)
    t0: float = 0.0  # s
    dt: float = 0.0  # s
    ch1: F32 = _arr("<f4")  # V (NaN: not yet written)
    ch2: F32 = _arr("<f4")  # V
    trigger_time: float = 0.0  # s since the board started (cycle counter / 125 MHz)
    curve: str = ""  # the stored curve's id, when saved (rp.curves)

    @property
    def times(self) -> F64:
        """The time axis t0 + i*dt (s), as float64."""
        n = max(self.ch1.size, self.ch2.size)
        return self.t0 + self.dt * np.arange(n, dtype=np.float64)


@dataclass
class ContinuousReply:
    """The answer to scope.continuous: traces follow on ``subject``."""

    id: str = ""
    subject: str = ""
    settings: ScopeSettings = _nested(ScopeSettings)


# --- network analyzer ------------------------------------------------------


@dataclass
class NASettings:
    """Network analyzer settings as applied (see docs/na.md)."""

    id: str = ""
    start_freq: float = 0.0  # Hz
    stop_freq: float = 0.0  # Hz
    points: int = 0
    rbw: float = 0.0  # Hz
    average_per_point: int = 0
    amplitude: float = 0.0  # V
    input: str = ""
    output_direct: str = ""
    acbandwidth: float = 0.0  # Hz
    logscale: bool | None = None
    auto_bandwidth: bool = False
    q_factor_min: float = 0.0
    trace_average: int = 0
    timeout: float = 0.0  # s
    no_wait: bool = False
    save: bool = False  # stored in the curve store; the reply's curve is its id
    name: str = ""  # the saved curve's name
    tags: list[str] = field(default_factory=list)  # the saved curve's tags


@dataclass
class NATrace(Timing):
    """A network analyzer sweep: the transfer function re + i*im (V/V) at
    ``frequencies`` (Hz)."""

    id: str = ""
    board: str = ""
    iq: str = ""  # the IQ module the sweep borrowed
    settings: NASettings = _nested(NASettings)
    frequencies: F64 = _arr("<f8")  # Hz
    time: F64 = _arr("<f8")  # zero span: s since the first point
    re: F64 = _arr("<f8")
    im: F64 = _arr("<f8")
    hardware_time: float = 0.0  # s on the FPGA alone
    curve: str = ""  # the stored curve's id, when saved (rp.curves)

    @property
    def response(self) -> npt.NDArray[np.complex128]:
        """The transfer function as complex numbers (a new array)."""
        return self.re + 1j * self.im


# --- spectrum analyzer -----------------------------------------------------


@dataclass
class SpecanSettings:
    """Spectrum analyzer settings as applied (see docs/specan.md)."""

    id: str = ""
    span: float = 0.0  # Hz
    decimation: int = 0
    input1: str = ""
    input2: str = ""
    window: str = ""
    trace_average: int = 0
    unit: str = ""
    cross: bool = False
    timeout: float = 0.0  # s
    save: bool = False  # stored in the curve store; the reply's curve is its id
    name: str = ""  # the saved curve's name
    tags: list[str] = field(default_factory=list)  # the saved curve's tags


@dataclass
class Spectrum(Timing):
    """An averaged spectrum of both scope channels, in ``settings.unit``."""

    id: str = ""
    board: str = ""
    settings: SpecanSettings = _nested(SpecanSettings)
    frequencies: F64 = _arr("<f8")  # Hz, 0 .. span/2
    ch1: F64 = _arr("<f8")
    ch2: F64 = _arr("<f8")
    cross_re: F64 = _arr("<f8")
    cross_im: F64 = _arr("<f8")
    rbw: float = 0.0  # Hz: ENBW x sample rate
    enbw: float = 0.0  # sum(w^2)/sum(w)^2: a fraction of the sample rate
    traces: int = 0
    cross_unit: str = ""  # unit of cross_re/cross_im: the power form of settings.unit
    curve: str = ""  # the stored curve's id, when saved (rp.curves)

    @property
    def cross(self) -> npt.NDArray[np.complex128]:
        """The cross spectrum conj(F1) F2 as complex numbers (a new array;
        empty unless ``settings.cross``)."""
        return self.cross_re + 1j * self.cross_im
