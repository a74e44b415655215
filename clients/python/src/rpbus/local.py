"""Run ``rpbus up`` locally: the tests', the examples' and the bench's server.

:class:`RpbusUp` starts ``rpbus up --listen 127.0.0.1:0 --data <tmpdir>``
(embedded NATS on a free loopback port, the simulated board ``sim`` and
every instrument service), reads the URL from the banner's first line
(``rpbus up: NATS listening on nats://127.0.0.1:PORT``) and stops it with
SIGINT (SIGKILL after ``stop_timeout`` seconds).

The binary: ``$RPBUS_BIN`` if set; else, inside a checkout of the
repository, ``.tools/bin/rpbus``, rebuilt with ``go build`` when missing or
older than any Go source; else ``rpbus`` on ``PATH``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["RpbusUp", "repo_root", "ensure_binary"]

_BANNER = re.compile(r"rpbus up: NATS listening on ((?:nats|tls)://\S+)")
_SKIP_DIRS = {".git", ".tools", ".venv", "node_modules", "clients", "__pycache__"}


def repo_root(start: Path | None = None) -> Path | None:
    """The rpbus checkout holding this package (or ``$RPBUS_REPO``), if any."""
    env = os.environ.get("RPBUS_REPO")
    if env:
        return Path(env).resolve()
    here = (start or Path(__file__)).resolve()
    for p in here.parents:
        gomod = p / "go.mod"
        if gomod.is_file() and "module github.com/rpbus/rpbus" in gomod.read_text(errors="replace"):
            return p
    return None


def _newest_source(root: Path) -> float:
    newest = 0.0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        for f in filenames:
            if f.endswith(".go") or f in ("go.mod", "go.sum"):
                newest = max(newest, os.stat(os.path.join(dirpath, f)).st_mtime)
    return newest


def ensure_binary() -> Path:
    """The rpbus binary to run, built first when it is missing or stale."""
    env = os.environ.get("RPBUS_BIN")
    if env:
        return Path(env)
    root = repo_root()
    if root is None:
        found = shutil.which("rpbus")
        if found is None:
            raise FileNotFoundError("no rpbus binary: set RPBUS_BIN, or run inside the rpbus repository")
        return Path(found)
    binary = root / ".tools" / "bin" / "rpbus"
    if binary.exists() and binary.stat().st_mtime >= _newest_source(root):
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        ["go", "build", "-o", str(binary), "./cmd/rpbus"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if r.returncode != 0:
        if binary.exists():
            # Someone's Go edit in progress: run the last good build rather
            # than nothing, and say so.
            warnings.warn(f"go build failed, using the older {binary}:\n{r.stderr}", stacklevel=2)
            return binary
        raise RuntimeError(f"go build ./cmd/rpbus failed:\n{r.stderr}")
    return binary


class RpbusUp:
    """``rpbus up`` as a context manager; ``url`` is its NATS URL::

    with RpbusUp() as up:
        rp = await rpbus.connect(up.url)
    """

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        binary: Path | None = None,
        start_timeout: float = 60.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.args = list(args)
        self.binary = binary
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.url = ""
        self.banner: list[str] = []
        self.returncode: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._reader: threading.Thread | None = None
        self._err = tempfile.TemporaryFile(mode="w+")

    def start(self) -> str:
        binary = self.binary or ensure_binary()
        self._tmp = tempfile.TemporaryDirectory(prefix="rpbus-up-")
        cmd = [str(binary), "up", "--listen", "127.0.0.1:0", "--data", self._tmp.name, *self.args]
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._err, stdin=subprocess.DEVNULL, text=True
        )
        got = threading.Event()

        def read() -> None:
            # Keep reading so that a chatty server never blocks on a full pipe.
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                if not got.is_set():
                    self.banner.append(line.rstrip("\n"))
                    m = _BANNER.search(line)
                    if m:
                        self.url = m.group(1)
                        got.set()
            got.set()

        self._reader = threading.Thread(target=read, name="rpbus-up-stdout", daemon=True)
        self._reader.start()
        if not got.wait(self.start_timeout) or not self.url:
            self.stop()
            raise RuntimeError(f"rpbus up did not print its URL within {self.start_timeout:g} s: {self.stderr()}")
        return self.url

    def stderr(self) -> str:
        self._err.seek(0)
        return self._err.read()

    def stop(self) -> int | None:
        """SIGINT, wait for the exit, SIGKILL after ``stop_timeout``."""
        p = self._proc
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p is not None:
            self.returncode = p.returncode
            if p.stdout is not None:
                if self._reader is not None:
                    self._reader.join(5)
                p.stdout.close()
        self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return self.returncode

    def __enter__(self) -> RpbusUp:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self._err.close()

