"""A real HTTP server standing in for Slack's incoming webhook, scriptable per test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: str = "ok"


@dataclass
class Received:
    at: float
    path: str
    payload: dict
    raw: str


_Server = TypeVar("_Server", bound="LocalServer")


class LocalServer:
    """A real HTTP server on a free local port, serving ``_handler()`` while ``running()``."""

    server: ThreadingHTTPServer | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @contextmanager
    def running(self: _Server) -> Iterator[_Server]:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


class FakeSlack(LocalServer):
    """Answers with the scripted replies in order (then 200); records every request."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/services/T000/B000/secret-token-XYZ"

    @property
    def payloads(self) -> list[dict]:
        return [r.payload for r in self.received]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                with fake._lock:
                    fake.received.append(
                        Received(time.monotonic(), self.path, json.loads(raw), raw)
                    )
                    reply = fake.replies.pop(0) if fake.replies else Reply()
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body.encode())
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args: object) -> None:
                pass

        return Handler


class TricklingSlack(LocalServer):
    """A webhook that answers 200 with its headers at once, then its body one byte every
    ``every`` seconds: each socket read returns in time, so only a total deadline ends the
    request. ``finished`` is set once the whole body was sent (or the client went away)."""

    def __init__(self, body_bytes: int = 600, every: float = 0.5) -> None:
        self.body_bytes, self.every = body_bytes, every
        self.requests = 0
        self.finished = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/services/T0TRICKLE/B0TRICKLE/trickle-token-QRS"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests += 1
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", str(fake.body_bytes))
                    self.end_headers()
                    self.wfile.flush()
                    for _ in range(fake.body_bytes):
                        self.wfile.write(b"o")
                        self.wfile.flush()
                        time.sleep(fake.every)
                except OSError:
                    pass  # the client gave up
                finally:
                    fake.finished.set()

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def unreachable_webhook_url() -> str:
    """A webhook URL on a local port nothing listens on (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/services/T0GONE/B0GONE/unreachable-token-JKL"
