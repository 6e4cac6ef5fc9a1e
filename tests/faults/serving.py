"""A local HTTP server run in a background thread: the common part of the fault proxy and of
moto's DynamoDB server."""

from __future__ import annotations

import threading
from socketserver import BaseServer
from typing import Self


class Background:
    """Serves ``server`` (bound to a loopback port) from a daemon thread until :meth:`stop`;
    usable as a context manager."""

    def __init__(self, server: BaseServer) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Where clients connect: ``http://127.0.0.1:PORT``."""
        address = self._server.server_address
        return f"http://127.0.0.1:{address[1]}"  # type: ignore[index]

    def start(self) -> Self:
        """Serve in the background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
