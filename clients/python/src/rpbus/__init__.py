"""rpbus: an asyncio client for Red Pitaya instruments served over NATS.

::

    import asyncio, rpbus

    async def main():
        async with await rpbus.connect("nats://127.0.0.1:4222") as rp:
            board = rp.board("sim")
            trace = await board.scope.single(duration=1e-3, trigger_source="immediately")
            print(trace.times[:3], trace.ch1[:3])

    asyncio.run(main())

Every call is a coroutine; ``asyncio.gather`` runs a scope and a network
analyzer acquisition at once. Replies are typed dataclasses
(:mod:`rpbus.types`) whose arrays are read-only numpy views of the reply's
bytes. Service errors raise :class:`RpbusError` subclasses carrying the
code and message (:mod:`rpbus.errors`); cancelling the awaiting task
cancels the acquisition on the service; ``done()``, ``progress()`` and
``scope.traces()`` are async iterators.
"""

from __future__ import annotations

from .client import (
    CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    HW,
    MARGIN,
    Board,
    Client,
    EventStream,
    Generator,
    Instrument,
    connect,
    read,
    wait,
    write,
)
from .curves import Curve, CurveArray, CurveList, Curves, CurveStore
from .errors import (
    BusyError,
    InternalError,
    InvalidError,
    NotFoundError,
    RequestCancelledError,
    RequestTimeoutError,
    RpbusError,
    UnavailableError,
)
from . import sync
from .na import NetworkAnalyzer
from .scope import Scope
from .specan import SpectrumAnalyzer
from .sync import connect_sync
from .types import (
    ASGSettings,
    CancelReply,
    ContinuousReply,
    HWDesign,
    HWInfo,
    NASettings,
    NATrace,
    OpResult,
    Progress,
    ScopeSettings,
    ScopeTrace,
    SpecanSettings,
    Spectrum,
    StopReply,
    Timing,
    TxnCancelReply,
    TxnReply,
)

__version__ = "0.1.0"

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "MARGIN",
    "connect",
    "connect_sync",
    "sync",
    "Client",
    "Board",
    "HW",
    "Generator",
    "Instrument",
    "Scope",
    "NetworkAnalyzer",
    "Curves",
    "Curve",
    "CurveArray",
    "CurveList",
    "CurveStore",
    "SpectrumAnalyzer",
    "EventStream",
    "read",
    "write",
    "wait",
    "RpbusError",
    "InvalidError",
    "NotFoundError",
    "RequestTimeoutError",
    "BusyError",
    "RequestCancelledError",
    "InternalError",
    "UnavailableError",
    "ASGSettings",
    "CancelReply",
    "ContinuousReply",
    "HWDesign",
    "HWInfo",
    "NASettings",
    "NATrace",
    "OpResult",
    "Progress",
    "ScopeSettings",
    "ScopeTrace",
    "SpecanSettings",
    "Spectrum",
    "StopReply",
    "Timing",
    "TxnCancelReply",
    "TxnReply",
]
