"""moto's DynamoDB as a real HTTP server on a loopback port.

moto's own server (``moto.server.ThreadedMotoServer``) needs Flask, which is not among the
project's dependencies (``moto[server]``); it is a thin layer anyway. This is the same idea
for the one service the fault tests need: a threaded werkzeug WSGI server that hands every
request to moto's DynamoDB handler, exactly as moto's server does, so boto3 (through
``endpoint_url``) meets moto's real request parsing, conditional writes and error answers
over real HTTP, and a fault proxy can sit in between.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from moto.core.request import Request
from moto.dynamodb.responses import DynamoHandler
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Response


def _app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """One DynamoDB JSON-protocol request, answered by moto's in-process backend."""
    request = Request(environ)
    result = DynamoHandler.dispatch(request, request.raw_url, dict(request.headers))
    status, headers, body = result if len(result) == 3 else (200, {}, result)
    response = Response(response=body, status=status, headers=headers)
    answer: Iterable[bytes] = response(environ, start_response)
    return answer


class _Quiet(WSGIRequestHandler):
    """No access log: the fault proxy's exchange log says what happened."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class MotoDynamoDB:
    """moto's DynamoDB served over HTTP until :meth:`stop`; :attr:`url` is the endpoint."""

    def __init__(self) -> None:
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, _app, threaded=True, request_handler=_Quiet
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The ``endpoint_url`` for boto3: ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> MotoDynamoDB:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
