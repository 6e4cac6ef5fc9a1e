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
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from tests.faults.serving import Background

#: moto checks a write's condition and stores the item without a lock; DynamoDB applies each
#: request atomically, so requests are handled one at a time (see tests.alerts.helpers).
_ONE_AT_A_TIME = threading.Lock()


def _app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """One DynamoDB JSON-protocol request, answered by moto's in-process backend."""
    request = Request(environ)
    with _ONE_AT_A_TIME:
        result = DynamoHandler.dispatch(request, request.raw_url, dict(request.headers))
    status, headers, body = result if len(result) == 3 else (200, {}, result)
    response = Response(response=body, status=status, headers=headers)
    answer: Iterable[bytes] = response(environ, start_response)
    return answer


class _Quiet(WSGIRequestHandler):
    """No access log: the fault proxy's exchange log says what happened."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class MotoDynamoDB(Background):
    """moto's DynamoDB served over HTTP until :meth:`stop`; :attr:`url` is the endpoint."""

    def __init__(self) -> None:
        super().__init__(make_server("127.0.0.1", 0, _app, threaded=True, request_handler=_Quiet))
