"""Azurite's table service in a subprocess, for the tests of the Azure Table Storage store.

`make unit` installs Azurite from ``tests/azurite/package-lock.json`` with npm; the fixture that
uses this module fails, rather than skips, when it is missing, so the Azure store is never
silently untested.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from azure.data.tables import TableClient

AZURITE_DIR = Path(__file__).parent / "azurite"
AZURITE_TABLE = AZURITE_DIR / "node_modules" / ".bin" / "azurite-table"
#: Azurite's fixed development account (public, documented, accepted by Azurite only).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
START_TIMEOUT = 20.0


class AzuriteError(RuntimeError):
    """Azurite is not installed, or did not start."""


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Azurite:
    """A running Azurite table service; :meth:`stop` ends it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
        self.process = process
        self.port = port
        self._log = log
        self._names = itertools.count()
        self._run = uuid.uuid4().hex[:8]

    @property
    def connection_string(self) -> str:
        """The connection string a Function App would find in ``AzureWebJobsStorage``."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};"
        )

    def table_name(self) -> str:
        """A table name no other test of this session uses."""
        return f"t{self._run}n{next(self._names)}"

    def table(self, create: bool = True) -> TableClient:
        """A client for a fresh, uniquely named table (created unless ``create`` is false)."""
        from azure.data.tables import TableClient

        client = TableClient.from_connection_string(self.connection_string, self.table_name())
        if create:
            client.create_table()
        return client

    def output(self) -> str:
        """What the Azurite process has printed so far."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        """Terminate the process (killing it if it lingers) and drop its output."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_azurite(timeout: float = START_TIMEOUT, extra: Sequence[str] = ()) -> Azurite:
    """Start Azurite's table service in memory on a free port and wait until it answers;
    ``extra`` arguments are passed on (HTTPS and OAuth, say)."""
    if not os.access(AZURITE_TABLE, os.X_OK):
        raise AzuriteError(
            f"{AZURITE_TABLE} is missing: `make unit` installs Azurite "
            "(npm ci --prefix tests/azurite)"
        )
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - Azurite.stop() closes it
    process = subprocess.Popen(
        [
            str(AZURITE_TABLE),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--silent",
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(port),
            "--skipApiVersionCheck",
            "--loose",
            *extra,
        ],
        cwd=AZURITE_DIR,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    azurite = Azurite(process, port, log)
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if process.poll() is not None:
            output = azurite.output()
            azurite.stop()
            raise AzuriteError(f"Azurite exited with {process.returncode}:\n{output}")
        if time.monotonic() > deadline:
            output = azurite.output()
            azurite.stop()
            raise AzuriteError(f"Azurite did not answer on port {port} in {timeout:g} s:\n{output}")
        time.sleep(0.1)
    return azurite
