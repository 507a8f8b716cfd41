"""A local copy of Microsoft's download endpoints, reached through the real host names.

One HTTPS server on 127.0.0.1 answers for www.microsoft.com (the details page linking the
release) and download.microsoft.com (the release file, with an ETag and 304 on a match), with
a certificate for those names from a throw-away trustme CA. :class:`Redirect` is an httpx
transport that connects to 127.0.0.1 but keeps the URL's host name for the Host header, SNI
and certificate verification, so TLS is checked exactly as against the real hosts.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import trustme

PAGE_HOST, FILE_HOST = "www.microsoft.com", "download.microsoft.com"
PAGE_PATH = "/download/details.aspx?id=56519"
FILE_DIR = "/download/7/1/D/71D86715-5596-4529-9B13-DA13A5DE5B63/"


@dataclass
class Hit:
    host: str
    path: str
    status: int
    body_bytes: int


@dataclass
class Mirror:
    port: int
    ca: trustme.CA
    file_name: str
    hits: list[Hit] = field(default_factory=list)

    @property
    def file_url(self) -> str:
        return f"https://{FILE_HOST}{FILE_DIR}{self.file_name}"

    def client(self) -> httpx.Client:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return httpx.Client(transport=Redirect(self.port, verify=context), trust_env=False)


class Redirect(httpx.HTTPTransport):
    """Every connection goes to 127.0.0.1:port; host name, SNI and TLS checks stay the URL's."""

    def __init__(self, port: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        request.url = request.url.copy_with(host="127.0.0.1", port=self._port)
        request.headers["Host"] = host
        request.extensions = {**request.extensions, "sni_hostname": host}
        return super().handle_request(request)


@contextmanager
def serve(release: bytes, file_name: str) -> Iterator[Mirror]:
    ca = trustme.CA()
    cert = ca.issue_cert(PAGE_HOST, FILE_HOST)
    etag = '"' + hashlib.sha256(release).hexdigest()[:16] + '"'
    mirror = Mirror(0, ca, file_name)
    page = (
        f'<html><body><a class="download-button" href="{mirror.file_url}">Download</a>'
        "</body></html>"
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").split(":")[0]
            if (host, self.path) == (PAGE_HOST, PAGE_PATH):
                self._answer(host, 200, page, {"Content-Type": "text/html"})
            elif (host, self.path) == (FILE_HOST, FILE_DIR + file_name):
                if self.headers.get("If-None-Match") == etag:
                    self._answer(host, 304, b"", {"ETag": etag})
                else:
                    headers = {"ETag": etag, "Content-Type": "application/octet-stream"}
                    self._answer(host, 200, release, headers)
            else:
                self._answer(host, 404, b"not found", {})

        def _answer(self, host: str, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            mirror.hits.append(Hit(host, self.path, status, len(body)))

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the hits list is the log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    mirror.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield mirror
    finally:
        server.shutdown()
        server.server_close()
