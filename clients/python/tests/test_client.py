"""The client's own behaviour: connections, event streams, in-flight bound."""

from __future__ import annotations

import asyncio
import socket

import pytest

import rpbus


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connect_to_nothing_is_unavailable() -> None:
    url = f"nats://127.0.0.1:{_free_port()}"
    with pytest.raises(rpbus.UnavailableError) as ei:
        await rpbus.connect(url, timeout=1.0)
    assert ei.value.code == 503 and url in ei.value.message


async def test_closed_connection_is_unavailable(rpbus_url: str) -> None:
    rp = await rpbus.connect(rpbus_url)
    await rp.close()
    with pytest.raises(rpbus.UnavailableError):
        await rp.board("sim").info()


async def test_wraps_a_connection_it_does_not_own(rpbus_url: str) -> None:
    import nats

    nc = await nats.connect(rpbus_url)
    try:
        async with rpbus.Client(nc) as rp:
            assert (await rp.board("sim").info()).board == "sim"
        assert nc.is_connected  # the caller's connection stays open
    finally:
        await nc.close()


async def test_event_stream_close_ends_a_waiting_iteration(board: rpbus.Board) -> None:
    stream = await board.scope.done(id="never-published").open()

    async def drain() -> list[rpbus.ScopeTrace]:
        return [ev async for ev in stream]

    reader = asyncio.ensure_future(drain())
    await asyncio.sleep(0)
    await stream.close()
    async with asyncio.timeout(5):
        assert await reader == []
    with pytest.raises(RuntimeError):
        await stream.open()


async def test_event_stream_until_and_next_timeout(board: rpbus.Board) -> None:
    async with board.na.progress(id="nothing-runs") as progress:
        with pytest.raises(rpbus.RequestTimeoutError):
            await progress.next(timeout=0.05)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        assert [p async for p in progress.until(fut)] == []


async def test_in_flight_bound_loses_nothing(rpbus_url: str) -> None:
    async with await rpbus.connect(rpbus_url, max_in_flight=4) as rp:
        board = rp.board("sim")
        infos = await asyncio.gather(*(board.info() for _ in range(100)))
        assert all(i.board == "sim" for i in infos)
    with pytest.raises(ValueError, match="max_in_flight"):
        rpbus.Client(rp.nc, max_in_flight=0)


async def test_raw_request_for_any_subject(rp: rpbus.Client) -> None:
    reply = await rp.request("rp.sim.hw.txn", {"ops": [rpbus.read(0x40100000, 2)]}, timeout=2)
    assert reply["modules"] == ["scope"]
    with pytest.raises(rpbus.InvalidError, match="unknown field|ops"):
        await rp.request("rp.sim.hw.txn", {"opps": []}, timeout=2)
