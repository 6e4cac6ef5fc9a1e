"""A forwarding HTTP proxy that injects faults between a real client and a real (local) service.

Point a client at :attr:`FaultProxy.url` instead of the service (a Slack API server, moto's
DynamoDB, Azurite's table service). Every request is forwarded unchanged (method, path, headers,
body) on a fresh upstream connection and the service's answer relayed, until a scripted
:class:`Fault` says otherwise. That keeps the client's own behaviour (its retries, backoff,
timeouts, error parsing) and the service's own behaviour (conditional writes, ETags) real, and
puts only the failure under the test's control:

- ``Fault(status=503, body=..., headers=...)``: answer this instead; the service never sees
  the request (throttling, a busy server).
- ``Fault(drop=True)``: close the connection without an answer; the request is not forwarded
  (the connection broke on the way there).
- ``Fault(drop=True, forward=True)``: forward, so the service applies the request, then close
  without relaying the answer (it broke on the way back: the client cannot know it worked).
  ``Fault(status=500, forward=True)`` likewise applies the request but answers the status.
- ``Fault(delay=2.0)``: wait first, then go on as the rest of the fault says (a plain delay
  forwards; with a client timeout below the delay, the client gives up while the service still
  applies the request, as a slow real service would). ``Fault(delay=2.0, drop=True)`` hangs
  and then drops without forwarding.
- ``Fault()``: pass the request through unchanged; queued ahead of other faults, such
  placeholders let the first matching requests through and fault the ones after them.

Faults are queued with :meth:`FaultProxy.script` and each is used once, by the first later
request it ``matches`` (a predicate on the :class:`Request`; by default every request), in
queue order. :meth:`FaultProxy.always` applies one fault to every matching request until
:meth:`FaultProxy.clear`. Every exchange is recorded in :attr:`FaultProxy.exchanges`, with the
error code the answer carried, so tests can show that a client retried and that a conflict came
from the service.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from urllib.parse import urlsplit

from tests.faults.serving import Background

#: Headers that describe one connection, not the message: never copied across the proxy.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
    }
)
#: Seconds the proxy waits for the service to answer a forwarded request.
UPSTREAM_TIMEOUT = 30.0


@dataclass(frozen=True)
class Request:
    """A request as the proxy received it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str:
        """The value of header ``name`` (any case), or ``""``."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), "")

    @property
    def operation(self) -> str:
        """The AWS JSON protocol operation (``PutItem`` from ``X-Amz-Target``), or ``""``."""
        return self.header("X-Amz-Target").rpartition(".")[2]


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or around) forwarding one request; see the module docstring."""

    status: int | None = None
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    forward: bool = False
    matches: Callable[[Request], bool] | None = None

    def applies_to(self, request: Request) -> bool:
        """Whether this fault is meant for ``request``."""
        return self.matches is None or self.matches(request)

    def describe(self) -> str:
        """A short label for the exchange log."""
        parts = [f"delay {self.delay:g}s"] if self.delay else []
        if self.drop:
            parts.append("answer lost" if self.forward else "dropped")
        elif self.status is not None:
            parts.append(f"answered {self.status}")
        return ", ".join(parts) or "passed"


@dataclass(frozen=True)
class Exchange:
    """One request and what became of it: ``status`` is ``None`` when no answer was sent;
    ``forwarded`` says whether the service saw the request; ``error`` is the error code the
    answer carried (DynamoDB ``__type``, Table Storage ``odata.error.code``, Slack ``error``)."""

    request: Request
    fault: str | None
    forwarded: bool
    status: int | None
    error: str | None


def error_code(body: bytes) -> str | None:
    """The error code in a JSON error body of AWS, Azure Storage or Slack, if any."""
    try:
        data = json.loads(body)
    except ValueError:
        match = re.search(rb"<Code>([^<]+)</Code>", body)
        return match.group(1).decode() if match else None
    if not isinstance(data, dict):
        return None
    if "__type" in data:
        return str(data["__type"]).rpartition("#")[2]
    odata = data.get("odata.error")
    if isinstance(odata, dict) and "code" in odata:
        return str(odata["code"])
    if data.get("ok") is False:
        return str(data.get("error"))
    return None


class FaultProxy(Background):
    """A threaded proxy on a free loopback port in front of ``upstream`` (``http://host:port``).

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be http://host:port, not {upstream!r}")
        self.upstream = (parts.hostname, parts.port or 80)
        self.exchanges: list[Exchange] = []
        self._queue: list[Fault] = []
        self._always: list[Fault] = []
        self._lock = threading.Lock()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True  # a handler still sleeping does not hold up stop()
        super().__init__(server)

    # -- scripting -----------------------------------------------------------------------------

    def script(self, *faults: Fault) -> None:
        """Queue ``faults``; each is used once, by the next request it matches."""
        with self._lock:
            self._queue.extend(faults)

    def always(self, fault: Fault) -> None:
        """Apply ``fault`` to every matching request (after the queue) until :meth:`clear`."""
        with self._lock:
            self._always.append(fault)

    def clear(self) -> None:
        """Forget queued and standing faults: from now on every request passes."""
        with self._lock:
            self._queue.clear()
            self._always.clear()

    def queued(self) -> int:
        """How many queued faults are still unused."""
        with self._lock:
            return len(self._queue)

    def _fault_for(self, request: Request) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault.applies_to(request):
                    return self._queue.pop(index)
            return next((f for f in self._always if f.applies_to(request)), None)

    # -- the log -------------------------------------------------------------------------------

    def _log(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def seen(self, predicate: Callable[[Exchange], bool] = lambda _: True) -> list[Exchange]:
        """The exchanges so far that satisfy ``predicate``, in order."""
        with self._lock:
            return [e for e in self.exchanges if predicate(e)]

    def faulted(self) -> list[Exchange]:
        """The exchanges a fault changed (passes excluded)."""
        return self.seen(lambda e: e.fault not in (None, "passed"))

    def attempts_of(self, exchange: Exchange) -> list[Exchange]:
        """Every exchange of the same request as ``exchange`` (method, path and body): the
        first attempt and the client's retries of it."""
        first = exchange.request
        return self.seen(
            lambda e: (
                (e.request.method, e.request.path, e.request.body)
                == (first.method, first.path, first.body)
            )
        )

    def wait_for(
        self, predicate: Callable[[Exchange], bool], count: int = 1, timeout: float = 10.0
    ) -> list[Exchange]:
        """Wait until ``count`` exchanges satisfy ``predicate`` (a delayed fault finishes after
        the client gave up on it); returns them, or raises ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while len(found := self.seen(predicate)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} exchanges after {timeout:g} s")
            time.sleep(0.02)
        return found

    def errors(self) -> list[str]:
        """The error codes of every answer that carried one, in order."""
        return [e.error for e in self.seen() if e.error]


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """Forwards one request (per keep-alive round) or applies its fault."""

        protocol_version = "HTTP/1.1"  # keep-alive, as the real services allow

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the exchange log says what happened."""

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return b"".join(_chunks(self.rfile))
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self) -> None:
            request = Request(
                self.command, self.path, dict(self.headers.items()), self._read_body()
            )
            fault = proxy._fault_for(request)
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            forwarded = fault is None or fault.forward or (not fault.drop and fault.status is None)
            answer = self._forward(request) if forwarded else None
            label = fault.describe() if fault is not None else None
            if fault is not None and fault.drop:
                self._drop()
                error = error_code(answer[2]) if answer else None
                proxy._log(Exchange(request, label, forwarded, None, error))
                return
            if fault is not None and fault.status is not None:
                body = fault.body.encode() if isinstance(fault.body, str) else fault.body
                answer = (fault.status, list(fault.headers.items()), body)
            assert answer is not None
            status, headers, body = answer
            proxy._log(Exchange(request, label, forwarded, status, error_code(body)))
            self._answer(status, headers, body)

        def _forward(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
            host, port = proxy.upstream
            connection = http.client.HTTPConnection(host, port, timeout=UPSTREAM_TIMEOUT)
            try:
                headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Content-Length"] = str(len(request.body))
                connection.request(request.method, request.path, request.body, headers)
                response = connection.getresponse()
                body = response.read()
                return response.status, response.getheaders(), body
            finally:
                connection.close()

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            try:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() not in ("date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                self.wfile.flush()
            except OSError:  # the client gave up meanwhile (its timeout): nobody to tell
                self.close_connection = True

        def _drop(self) -> None:
            """Close the connection with no answer at all, as a broken network does."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_MERGE = do_HEAD = _handle

    return Handler


def _chunks(stream: BufferedIOBase) -> Iterator[bytes]:
    """The payload of a chunked request body read from ``stream``."""
    while True:
        size = int(stream.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline().strip():  # trailers, then the blank line
                pass
            return
        yield stream.read(size)
        stream.readline()  # the CRLF after each chunk
