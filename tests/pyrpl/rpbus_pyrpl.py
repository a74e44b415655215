"""A pytest plugin that runs PyRPL's own test suite against an rpbus simboard.

PyRPL's tests talk to a RedPitaya; with hostname ``_FAKE_`` PyRPL builds a
``DummyClient`` instead of opening SSH. This plugin swaps that dummy for
PyRPL's real ``MonitorClient``, pointed at the simulated board that
``rpbus simboard`` serves over PyRPL's monitor_server protocol, so every
register access of the tests crosses the same TCP protocol as on a real
board. Nothing of PyRPL is copied: it is imported from the installed
package (scripts/setup puts it in .venv-pyrpl).

The board's address comes from RPBUS_SIMBOARD (host:port).
"""

import os

import pyrpl.redpitaya_client as _client

_host, _port = os.environ["RPBUS_SIMBOARD"].rsplit(":", 1)


def _simboard_client(*_args, **_kwargs):
    return _client.MonitorClient(_host, int(_port))


_client.DummyClient = _simboard_client
