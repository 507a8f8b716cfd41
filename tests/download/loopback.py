"""Loopback servers for the download tests: an HTTPS file server and an HTTP CONNECT proxy."""

from __future__ import annotations

import select
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import trustme


@dataclass
class Tls:
    """A test CA and a server certificate for 127.0.0.1 issued by it."""

    ca: trustme.CA
    ca_pem: Path
    server_context: ssl.SSLContext

    def client(self, timeout: float = 5.0) -> httpx.Client:
        """A client that trusts the test CA and ignores proxy variables."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return httpx.Client(verify=context, trust_env=False, timeout=timeout)


@dataclass
class Route:
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    stall: bool = False


@dataclass
class Logged:
    path: str
    headers: dict[str, str]
    status: int
    body_bytes: int


@dataclass
class FileServer:
    """Serves ``routes`` over HTTPS on 127.0.0.1 and logs every request it answered."""

    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    log: list[Logged] = field(default_factory=list)
    release_stalls: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = server.routes.get(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if route is None:
                self._answer(404, b"not found", {})
            elif route.stall:
                server.log.append(Logged(self.path, headers, 0, 0))
                server.release_stalls.wait(10)
                return
            elif route.etag and headers.get("if-none-match") == route.etag:
                self._answer(304, b"", {"ETag": route.etag})
            elif (
                not route.etag
                and route.last_modified
                and headers.get("if-modified-since") == route.last_modified
            ):
                self._answer(304, b"", {"Last-Modified": route.last_modified})
            else:
                validators = {"ETag": route.etag, "Last-Modified": route.last_modified}
                self._answer(
                    200,
                    route.body,
                    {"Content-Type": "application/octet-stream"}
                    | {k: v for k, v in validators.items() if v},
                )
            server.log.append(Logged(self.path, headers, self._status, self._sent))

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self._status, self._sent = status, len(body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads ``server.log`` instead."""

    return Handler


@dataclass
class ConnectProxy:
    """A loopback-only HTTP CONNECT proxy that records the tunnels it opened."""

    port: int
    connects: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _tunnel(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    while True:
        readable, _, _ = select.select(sockets, [], [], 5)
        if not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (b if source is a else a).sendall(data)


def _proxy_handler(proxy: ConnectProxy) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            method, target, _ = self.rfile.readline().decode("latin-1").split(" ", 2)
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or host != "127.0.0.1":
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            proxy.connects.append(target)
            with socket.create_connection((host, int(port)), timeout=5) as upstream:
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                _tunnel(self.connection, upstream)

    return Handler


@contextmanager
def _serving(server: socketserver.BaseServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def file_server(tls: Tls) -> Iterator[FileServer]:
    holder = FileServer(port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(holder))
    httpd.daemon_threads = True
    httpd.socket = tls.server_context.wrap_socket(httpd.socket, server_side=True)
    holder.port = httpd.server_address[1]
    try:
        with _serving(httpd):
            yield holder
    finally:
        holder.release_stalls.set()


@contextmanager
def connect_proxy() -> Iterator[ConnectProxy]:
    holder = ConnectProxy(port=0)
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _proxy_handler(holder))
    server.daemon_threads = True
    holder.port = server.server_address[1]
    with _serving(server):
        yield holder
