"""The Functions host's part for the app's queue triggers, against Azurite's queue service.

It does what the host does with a storage queue trigger, as host.json configures it: receive
messages, decode them (``messageEncoding``), call the function with a ``QueueMessage``, delete
the message when the function returns; when it raises, make the message visible again, or move
it to ``<queue>-poison`` once it has been dequeued ``maxDequeueCount`` times.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import azure.functions as func
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage
from azure.storage.queue import QueueClient, QueueServiceClient
from azure.storage.queue import QueueMessage as StoredMessage

import function_app

ROOT = Path(__file__).resolve().parents[2]
RUNS, POISON = "ipsync-runs", "ipsync-runs-poison"


class QueueHost:
    """Calls ``sync_queued`` and ``sync_poisoned`` for the messages on their queues."""

    def __init__(self, connection: str, retry_delay_s: int = 0) -> None:
        settings = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]
        self.max_dequeue_count: int = settings["maxDequeueCount"]
        self.base64 = settings.get("messageEncoding", "base64") == "base64"
        #: host.json's visibilityTimeout; shortened here so retries happen at once
        self.retry_delay_s = retry_delay_s
        service = QueueServiceClient.from_connection_string(connection)
        self.queues = {name: service.get_queue_client(name) for name in (RUNS, POISON)}
        self.functions: dict[str, Callable[[func.QueueMessage], None]] = {
            RUNS: function_app.sync_queued,
            POISON: function_app.sync_poisoned,
        }
        #: what the functions raised, in order
        self.errors: list[BaseException] = []

    def step(self) -> int:
        """Deliver the messages now visible on both queues, in parallel; how many there were."""
        workers = []
        for name, queue in self.queues.items():
            try:
                messages = list(queue.receive_messages(messages_per_page=16, visibility_timeout=60))
            except ResourceNotFoundError:
                continue
            for message in messages:
                worker = threading.Thread(target=self._deliver, args=(name, message))
                worker.start()
                workers.append(worker)
        for worker in workers:
            worker.join()
        return len(workers)

    def drain(self, max_steps: int = 20) -> None:
        """Step until both queues are empty."""
        for _ in range(max_steps):
            if not self.step():
                return
        raise AssertionError(f"the queues were not empty after {max_steps} steps")

    @contextlib.contextmanager
    def running(self) -> Iterator[QueueHost]:
        """Step in a background thread, as the host polls, until the block ends."""
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                if not self.step():
                    stop.wait(0.05)

        thread = threading.Thread(target=poll, name="queue-host", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()

    def _deliver(self, name: str, message: StoredMessage) -> None:
        queue = self.queues[name]
        count = message.dequeue_count or 1
        if name == RUNS and count > self.max_dequeue_count:  # its worker died on the last try
            self._poison(message)
            return
        text = message.content
        body = base64.b64decode(text, validate=True) if self.base64 else text.encode()
        delivered = QueueMessage(
            id=message.id, body=body, dequeue_count=count, pop_receipt=message.pop_receipt
        )
        try:
            self.functions[name](delivered)
        except Exception as exc:
            self.errors.append(exc)
            if name == RUNS and count >= self.max_dequeue_count:
                self._poison(message)
            else:
                queue.update_message(message, visibility_timeout=self.retry_delay_s)
            return
        queue.delete_message(message)

    def _poison(self, message: StoredMessage) -> None:
        poison: QueueClient = self.queues[POISON]
        with contextlib.suppress(ResourceExistsError):
            poison.create_queue()
        poison.send_message(message.content)  # the host copies the stored text as it is
        self.queues[RUNS].delete_message(message)
