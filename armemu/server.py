"""The emulator as a component: an HTTPS server on 127.0.0.1 with its own CA."""

from __future__ import annotations

import json
import shutil
import ssl
import sys
import tempfile
import threading
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from armemu.handler import Feed, Handler
from armemu.msgraph import Directory
from armemu.state import ResourceStore
from armemu.throttle import Limits, Throttle
from armemu.tls import server_context


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up or fail the TLS handshake are their own business."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Emulator:
    """A local ARM (NSGs, service tags, the firewalls of armemu.catalog, Resource Graph) and
    Microsoft Graph's named locations; ``endpoint`` and ``ca_bundle`` are for clients."""

    def __init__(
        self,
        *,
        port: int = 0,
        state_file: Path | None = None,
        load: Path | None = None,
        feed: Path | None = None,
        lro_polls: int = 1,
        retry_after: int = 0,
        slow: dict[str, int] | None = None,
        subscriptions: tuple[str, ...] = (),
        throttle: Limits | None = None,
    ) -> None:
        """``slow`` maps a resource type's last segment to its operations' InProgress polls
        (``{"ipGroups": 20}``: IP Group writes wait for their firewall policy);
        ``subscriptions`` are listed (``GET /subscriptions``) even while they hold nothing;
        ``throttle`` turns on ARM's token buckets (``Limits()``: the documented sizes); ``load``
        starts from the resources of a state file without saving changes to it."""
        self.port = port
        self.store = ResourceStore(
            lro_polls=lro_polls, retry_after=retry_after, state_file=state_file or load,
            slow=slow, subscriptions=subscriptions,
        )  # fmt: skip
        if state_file is None:
            self.store.state_file = None  # loaded (or nothing to load): changes stay in memory
        self.feed = Feed(Path(feed) if feed is not None else None)
        #: Microsoft Graph's named locations, served at ``{endpoint}/v1.0/...``
        self.directory = Directory(self.store)
        self.throttle = Throttle(throttle) if throttle is not None else None
        self.endpoint = ""
        self.ca_bundle = Path()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._dir: Path | None = None

    def start(self) -> Emulator:
        self._dir = Path(tempfile.mkdtemp(prefix="ipsync-emulator-"))
        context, self.ca_bundle = server_context(self._dir)
        bound = {
            "store": self.store,
            "feed": self.feed,
            "directory": self.directory,
            "throttle": self.throttle,
        }
        handler = type("BoundHandler", (Handler,), bound)
        server = _Server(("127.0.0.1", self.port), handler)
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._server = server
        self.endpoint = f"https://127.0.0.1:{server.server_address[1]}"
        self.store.endpoint = self.endpoint
        self._thread = threading.Thread(target=server.serve_forever, name="arm-emulator")
        self._thread.daemon = True
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI's use)."""
        assert self._thread is not None, "start() first"
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----- admin API over HTTPS, for tests and benchmarks --------------------------------
    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("GET", "stats")
        return result

    def writes(self) -> list[dict[str, Any]]:
        """The last writes served, oldest first: each with its body and the resource before."""
        result: list[dict[str, Any]] = self._admin("GET", "writes")
        return result

    def history(self) -> dict[str, list[Any]]:
        """Per resource id, its allow-list after each completed write."""
        result: dict[str, list[Any]] = self._admin("GET", "history")
        return result

    def add_faults(self, faults: list[dict[str, Any]]) -> None:
        self._admin("POST", "faults", faults)

    def clear_faults(self) -> None:
        self._admin("DELETE", "faults")

    def reset(self) -> None:
        self._admin("POST", "reset")

    def _admin(self, method: str, route: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            f"{self.endpoint}/_emulator/{route}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return json.loads(response.read() or b"null")
