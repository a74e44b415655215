"""Connecting: credentials, and failures that say what was tried and why
within the connect timeout, against real servers on 127.0.0.1 (``rpbus
up`` with an authorization block, and with TLS)."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import rpbus
from rpbus.local import RpbusUp, repo_root

ROOT = repo_root()
assert ROOT is not None, "the tests run inside the rpbus repository"
CERT = ROOT / "testdata" / "tls" / "localhost.pem"
KEY = ROOT / "testdata" / "tls" / "localhost-key.pem"


def _up(tmp: Path, conf: str, *args: str) -> Iterator[str]:
    path = tmp / "nats.conf"
    path.write_text(conf)
    up = RpbusUp(["--nats-config", str(path), *args])
    up.start()
    try:
        yield up.url
    finally:
        assert up.stop() == 0, up.stderr()


@pytest.fixture(scope="module")
def auth_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    conf = "authorization { users: [ { user: services, password: s-pw }, { user: alice, password: a-pw } ] }\n"
    yield from _up(tmp_path_factory.mktemp("auth"), conf, "--user", "services", "--password", "s-pw")


@pytest.fixture(scope="module")
def token_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _up(tmp_path_factory.mktemp("token"), "authorization { token: t0k3n }\n", "--token", "t0k3n")


@pytest.fixture(scope="module")
def tls_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _up(tmp_path_factory.mktemp("tls"), f'tls {{ cert_file: "{CERT}", key_file: "{KEY}" }}\n')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _fails(url: str, *words: str, **kw: object) -> None:
    t0 = time.monotonic()
    with pytest.raises(rpbus.UnavailableError) as ei:
        await rpbus.connect(url, **kw)  # type: ignore[arg-type]
    took = time.monotonic() - t0
    # The connect timeout and slack for a loaded machine, as the Go client's test.
    assert took < rpbus.CONNECT_TIMEOUT + 2, f"told after {took:.2f} s"
    for w in words:
        assert w in str(ei.value), f"{ei.value} does not say {w!r}"
    assert "a-pw" not in str(ei.value) and "wrong-pw" not in str(ei.value)


async def test_refused() -> None:
    url = f"nats://127.0.0.1:{_free_port()}"
    await _fails(url, url, "without credentials", "connection refused")


async def test_no_answer() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        await _fails(f"nats://127.0.0.1:{silent.getsockname()[1]}", "no answer within 2 s")


async def test_user_and_password(auth_url: str) -> None:
    await _fails(auth_url, "authorization required", "user=")
    await _fails(auth_url, 'as user "alice"', "authorization failed", user="alice", password="wrong-pw")
    async with await rpbus.connect(auth_url, user="alice", password="a-pw") as rp:
        tr = await rp.board("sim").scope.single()
        assert len(tr.ch1) == 16384
    with pytest.raises(rpbus.InvalidError, match="give one of"):
        await rpbus.connect(auth_url, user="alice", token="x")


async def test_token(token_url: str) -> None:
    await _fails(token_url, "with a token", "authorization failed", token="nope")
    async with await rpbus.connect(token_url, token="t0k3n") as rp:
        assert (await rp.board("sim").info()).board == "sim"


async def test_tls(tls_url: str) -> None:
    assert tls_url.startswith("tls://")
    await _fails(tls_url, "TLS failed", "certificate verify failed")
    ctx = ssl.create_default_context(cafile=str(CERT))
    async with await rpbus.connect(tls_url, tls=ctx) as rp:
        assert (await rp.board("sim").info()).board == "sim"
