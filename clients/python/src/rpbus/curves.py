"""The curve store: rp.curves.list, get, update, delete.

Acquisitions saved with ``save=True`` (and ``name``, ``tags``) are kept by
the curve store (``rpbus curves``, run by ``rpbus up``); their replies
carry the curve id in ``curve``::

    tr = await board.scope.single(decimation=8, save=True, name="baseline")
    page = await rp.curves.list(tag="lab", limit=50)
    again = await rp.curves.get(tr.curve)      # a ScopeTrace, as the reply was
    await rp.curves.update(tr.curve, keep=True)
    await rp.curves.delete(tr.curve)

A curve read back is bit-exact with the reply (same dtypes): the store
keeps the msgpack bytes the instrument sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InternalError
from .types import NATrace, ScopeTrace, Spectrum, Timing, _list_of, _nested, from_wire

if TYPE_CHECKING:
    from .client import Client

__all__ = ["Curves", "Curve", "CurveArray", "CurveList", "CurveStore", "Trace"]

Trace = ScopeTrace | NATrace | Spectrum

_TRACES: dict[str, type[ScopeTrace] | type[NATrace] | type[Spectrum]] = {
    "scope": ScopeTrace,
    "na": NATrace,
    "specan": Spectrum,
}


@dataclass
class CurveArray:
    """One array of a stored trace: its field, dtype and shape."""

    name: str = ""
    dtype: str = ""
    shape: list[int] = field(default_factory=list)


@dataclass
class Curve(Timing):
    """A stored curve's metadata (what rp.curves.list returns)."""

    id: str = ""
    instrument: str = ""  # scope, na or specan
    board: str = ""
    acquisition: str = ""  # the acquisition's id (the trace's id)
    seq: int = 0  # continuous scope traces
    user: str = ""  # who saved it (its request's _INBOX_<user>); "" without a user
    name: str = ""
    tags: list[str] = field(default_factory=list)
    note: str = ""
    keep: bool = False  # never evicted when the store is full
    settings: dict[str, Any] = field(default_factory=dict)  # as applied
    arrays: list[CurveArray] = _list_of(CurveArray)
    bytes: int = 0  # the stored trace's size
    saved: float = 0.0  # Unix s


@dataclass
class CurveStore:
    """How full the store is."""

    curves: int = 0
    kept: int = 0
    bytes: int = 0
    max_bytes: int = 0


@dataclass
class CurveList:
    """One page of rp.curves.list, newest first; ``next`` is the cursor of
    the following page ("" on the last)."""

    curves: list[Curve] = _list_of(Curve)
    next: str = ""
    store: CurveStore = _nested(CurveStore)


class Curves:
    """The curve store, as ``rp.curves``."""

    def __init__(self, client: Client) -> None:
        self._c = client

    async def list(
        self,
        *,
        board: str | None = None,
        instrument: str | None = None,
        name_prefix: str | None = None,
        tag: str | None = None,
        user: str | None = None,
        acquisition: str | None = None,
        since: float | None = None,
        until: float | None = None,
        keep: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: float = 10.0,
    ) -> CurveList:
        """One page of curve metadata, newest first. Filters: ``board``,
        ``instrument`` (scope, na, specan), ``name_prefix``, ``tag``,
        ``user`` (who saved it), ``acquisition`` id, ``since``/``until`` (Unix s, saved in
        [since, until)), ``keep``; ``limit`` 1..1000 (default 100);
        ``cursor``: the previous page's ``next``."""
        body = {
            k: v
            for k, v in dict(
                board=board,
                instrument=instrument,
                name_prefix=name_prefix,
                tag=tag,
                user=user,
                acquisition=acquisition,
                since=since,
                until=until,
                keep=keep,
                limit=limit,
                cursor=cursor,
            ).items()
            if v is not None
        }
        return from_wire(CurveList, await self._c.request("rp.curves.list", body, timeout=timeout))

    async def all(self, **filters: Any) -> AsyncIterator[Curve]:
        """Every curve the filters of :meth:`list` match, newest first,
        page after page."""
        cursor: str | None = None
        while True:
            page = await self.list(cursor=cursor, **filters)
            for c in page.curves:
                yield c
            if not page.next:
                return
            cursor = page.next

    async def get(self, id: str, *, timeout: float = 10.0) -> Trace:
        """The stored trace, typed as the instrument's reply was
        (:class:`ScopeTrace`, :class:`NATrace` or :class:`Spectrum`)."""
        _, trace = await self.get_with_meta(id, timeout=timeout)
        return trace

    async def get_with_meta(self, id: str, *, timeout: float = 10.0) -> tuple[Curve, Trace]:
        """The curve's metadata and its trace."""
        reply = await self._c.request("rp.curves.get", {"id": id}, timeout=timeout)
        meta = from_wire(Curve, reply.get("curve"))
        cls = _TRACES.get(meta.instrument)
        if cls is None or meta.instrument not in reply:
            raise InternalError(500, f"curve {id}: no trace of a known instrument in the reply", "rp.curves.get")
        return meta, from_wire(cls, reply[meta.instrument])

    async def update(
        self,
        id: str,
        *,
        name: str | None = None,
        tags: list[str] | None = None,
        note: str | None = None,
        keep: bool | None = None,
        timeout: float = 10.0,
    ) -> Curve:
        """Changes what is given and returns the curve as updated."""
        body: dict[str, Any] = {"id": id}
        for k, v in (("name", name), ("tags", tags), ("note", note), ("keep", keep)):
            if v is not None:
                body[k] = v
        return from_wire(Curve, await self._c.request("rp.curves.update", body, timeout=timeout))

    async def delete(self, id: str, *, timeout: float = 10.0) -> None:
        """Deletes the curve; an unknown id raises :class:`NotFoundError`."""
        await self._c.request("rp.curves.delete", {"id": id}, timeout=timeout)
