"""Replies under the user's own inbox prefix: a server whose user may
read only ``_INBOX_<user>.>``, as deploy/'s accounts allow (docs/security.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import rpbus
from rpbus.local import RpbusUp

CONF = """
authorization {
  users: [
    { user: services, password: s-pw }
    { user: alice, password: a-pw, permissions: {
        publish: { allow: ["rp.>"] }
        subscribe: { allow: ["_INBOX_alice.>", "rp.*.*.done"] } } }
  ]
}
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path: Path = tmp_path_factory.mktemp("inbox") / "nats.conf"
    path.write_text(CONF)
    up = RpbusUp(["--nats-config", str(path), "--user", "services", "--password", "s-pw"])
    up.start()
    try:
        yield up.url
    finally:
        assert up.stop() == 0, up.stderr()


async def test_a_user_reads_its_replies_under_its_own_prefix(url: str) -> None:
    async with await rpbus.connect(url, user="alice", password="a-pw") as rp:
        info = await rp.request("rp.sim.hw.info", {})
        assert info["board"] == "sim"
        trace = await rp.board("sim").scope.single(decimation=1)
        assert len(trace.ch1) == 16384


async def test_the_shared_inbox_gets_no_reply(url: str) -> None:
    async with await rpbus.connect(url, user="alice", password="a-pw", inbox_prefix="_INBOX") as rp:
        with pytest.raises(TimeoutError):
            await rp.request("rp.sim.hw.info", {}, timeout=1.0)
