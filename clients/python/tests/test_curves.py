"""The curve store through the Python client: save=True on every
instrument, then rp.curves.list, get, update and delete."""

from __future__ import annotations

import secrets

import numpy as np
import pytest

import rpbus


async def test_saved_curves_read_back(rp: rpbus.Client, board: rpbus.Board) -> None:
    tag = "py-" + secrets.token_hex(4)
    tr = await board.scope.single(decimation=8, save=True, name="py scope", tags=[tag])
    avg = await board.scope.single(decimation=8, trace_average=2, save=True, tags=[tag])
    sweep = await board.na.single(start_freq=1e5, stop_freq=1e6, points=11, rbw=1e4, save=True, name="py bode", tags=[tag])
    spec = await board.specan.single(decimation=64, save=True, tags=[tag])
    for reply in (tr, avg, sweep, spec):
        assert reply.curve, f"{type(reply).__name__} reply without a curve id"

    got = await rp.curves.get(tr.curve)
    assert isinstance(got, rpbus.ScopeTrace)
    assert got.ch1.dtype == np.float32 and np.array_equal(got.ch1, tr.ch1) and np.array_equal(got.ch2, tr.ch2)
    assert got.id == tr.id and got.curve == tr.curve and got.settings.name == "py scope"
    got = await rp.curves.get(avg.curve)
    assert np.array_equal(got.ch1, avg.ch1)
    meta, got_sweep = await rp.curves.get_with_meta(sweep.curve)
    assert isinstance(got_sweep, rpbus.NATrace)
    assert np.array_equal(got_sweep.re, sweep.re) and np.array_equal(got_sweep.frequencies, sweep.frequencies)
    assert meta.instrument == "na" and meta.name == "py bode" and meta.acquisition == sweep.id
    assert [a.dtype for a in meta.arrays] == ["<f8", "<f8", "<f8"]
    got_spec = await rp.curves.get(spec.curve)
    assert isinstance(got_spec, rpbus.Spectrum) and np.array_equal(got_spec.ch1, spec.ch1)

    page = await rp.curves.list(tag=tag)
    assert [c.id for c in page.curves] == [spec.curve, sweep.curve, avg.curve, tr.curve]  # newest first
    assert page.store.curves >= 4 and page.store.max_bytes > 0
    assert [c.id for c in (await rp.curves.list(tag=tag, instrument="na")).curves] == [sweep.curve]
    assert [c.id for c in (await rp.curves.list(acquisition=tr.id)).curves] == [tr.curve]
    first = await rp.curves.list(tag=tag, limit=3)
    assert len(first.curves) == 3 and first.next
    assert [c.id async for c in rp.curves.all(tag=tag, limit=3)] == [spec.curve, sweep.curve, avg.curve, tr.curve]

    c = await rp.curves.update(tr.curve, keep=True, note="reference", tags=[tag, "ref"])
    assert c.keep and c.note == "reference" and c.tags == [tag, "ref"]
    assert [c.id for c in (await rp.curves.list(tag="ref", keep=True)).curves] == [tr.curve]

    await rp.curves.delete(spec.curve)
    with pytest.raises(rpbus.NotFoundError):
        await rp.curves.get(spec.curve)
    with pytest.raises(rpbus.NotFoundError):
        await rp.curves.delete(spec.curve)


async def test_bad_input(rp: rpbus.Client, board: rpbus.Board) -> None:
    with pytest.raises(rpbus.InvalidError, match="limit"):
        await rp.curves.list(limit=0 - 1)
    with pytest.raises(rpbus.InvalidError, match="id"):
        await rp.curves.get("not a curve id")
    with pytest.raises(rpbus.InvalidError, match="save"):
        await board.scope.single(name="unsaved")
    tr = await board.scope.single(save=True)
    with pytest.raises(rpbus.InvalidError, match=r"tags\[0\]"):
        await rp.curves.update(tr.curve, tags=[""])


async def test_continuous_save_every(rp: rpbus.Client, board: rpbus.Board) -> None:
    seen = []
    async with board.scope.running(count=5, decimation=64, save_every=2, name="py continuous") as traces:
        async for t in traces:
            seen.append(t)
    saved = [t for t in seen if t.curve]
    assert [t.seq for t in saved] == [t.seq for t in seen if (t.seq - 1) % 2 == 0]
    got = await rp.curves.get(saved[0].curve)
    assert isinstance(got, rpbus.ScopeTrace) and got.seq == saved[0].seq and np.array_equal(got.ch1, saved[0].ch1)


def test_sync_facade(rpbus_url: str) -> None:
    rp = rpbus.connect_sync(rpbus_url)
    try:
        tr = rp.board("sim").scope.single(decimation=8, save=True, name="sync")
        got = rp.curves.get(tr.curve)
        assert isinstance(got, rpbus.ScopeTrace) and np.array_equal(got.ch1, tr.ch1)
        assert [c.id for c in rp.curves.list(acquisition=tr.id).curves] == [tr.curve]
        rp.curves.delete(tr.curve)
    finally:
        rp.close()
