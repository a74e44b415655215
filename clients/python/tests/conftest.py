"""Fixtures: a real ``rpbus up`` (embedded NATS on a free loopback port,
the simulated board "sim", every instrument service) built from this
repository, and clients connected to it over TCP.

``RPBUS_TEST_URL`` runs the tests against a server that is already up.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

import rpbus
from rpbus.local import RpbusUp

BOARD = "sim"


@pytest.fixture(scope="session")
def rpbus_up() -> Iterator[RpbusUp | None]:
    if os.environ.get("RPBUS_TEST_URL"):
        yield None
        return
    up = RpbusUp()
    up.start()
    try:
        yield up
    finally:
        code = up.stop()
    # A clean SIGINT shutdown exits 0; anything else means the server
    # crashed or hung during the tests.
    assert code == 0, f"rpbus up exited {code}:\n{up.stderr()}"


@pytest.fixture(scope="session")
def rpbus_url(rpbus_up: RpbusUp | None) -> str:
    return os.environ.get("RPBUS_TEST_URL") or (rpbus_up.url if rpbus_up else "")


@pytest.fixture
async def rp(rpbus_url: str) -> AsyncIterator[rpbus.Client]:
    client = await rpbus.connect(rpbus_url)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def board(rp: rpbus.Client) -> rpbus.Board:
    return rp.board(BOARD)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A run that collected or ran nothing must not look green.
    if session.testscollected == 0 and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
