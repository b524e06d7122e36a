"""A local HTTP receiver for Slack (webhook and chat.postMessage) and generic webhooks that injects
faults from a script: an HTTP status (500, 429 with Retry-After), "timeout" (answers after the
client gave up), "reset" (closes the connection with a TCP RST) or "hold" (waits until released)."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers.get("x-delivery-id", "")


class Receiver:
    def __init__(self, script: list[Any] | None = None, retry_after: str = "1", delay: float = 0.0) -> None:
        self.script = list(script or [])
        self.retry_after, self.delay = retry_after, delay
        self.accepted: list[Received] = []     # answered with success
        self.seen: list[Received] = []         # every request that arrived
        self.release = threading.Event()
        self.down = False                      # while True, every request gets a 503
        self.lock = threading.Lock()
        self.ts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:      # the client died mid-request: nothing was delivered
                    self.close_connection = True
                    return
                got = Received(time.time(), self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                receiver.handle(self, got)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client killed mid-request (the SIGKILL trials) resets its connection: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, handler: BaseHTTPRequestHandler, got: Received) -> None:
        with self.lock:
            self.seen.append(got)
            step = 503 if self.down else (self.script.pop(0) if self.script else 200)
        if step == "reset":
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            handler.connection.close()
            return
        if step in ("timeout", "hold"):
            self.release.wait(3 if step == "timeout" else 60)
            step = 500
        elif self.delay:
            self.release.wait(self.delay)
        if step != 200:
            headers = {"Retry-After": self.retry_after} if step == 429 else {}
            return self._answer(handler, int(step), b"error", headers)
        with self.lock:
            self.accepted.append(got)
            self.ts += 1
            ts = f"1730000000.{self.ts:06d}"
        if got.path.endswith("/chat.postMessage"):
            return self._answer(handler, 200, json.dumps({"ok": True, "channel": "C1", "ts": ts}).encode(),
                                {"Content-Type": "application/json"})
        self._answer(handler, 200, b"ok", {})

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass

    def ids(self) -> list[str]:
        return [r.delivery_id for r in self.accepted]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
