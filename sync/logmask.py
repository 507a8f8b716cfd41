"""Every log record with its secrets masked, whichever library wrote it.

httpx logs each request's full URL at INFO; azure-core and urllib3 log request lines at DEBUG;
an exception's message may hold a SAS URL. A filter on a named logger would miss records of
its child loggers (``azure.core.pipeline.policies.http_logging_policy`` is not ``azure``), so
the masking wraps the log record factory instead: every record is masked once, when it is
made, before any filter or handler sees it. Its message, its exception text and its stack are
masked as :func:`sync.core.redact.mask_secrets_in` does; URLs registered with
:func:`hide_url` (a webhook, whose path is its token) are masked down to their host however
they are written.
"""

from __future__ import annotations

import sys
from _thread import allocate_lock
from typing import TYPE_CHECKING, Any

from sync.core.redact import MASK, UrlKey, mask_secrets_in, url_key

if TYPE_CHECKING:
    import logging
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

#: threading's Lock, without importing threading (1 ms of every command's start).
_lock = allocate_lock()
_keys: set[UrlKey] = set()
#: Secret URLs httpx cannot parse: masked where they appear as written.
_raw: set[str] = set()


def hide_url(url: str) -> None:
    """Mask ``url`` (path included) in every later log record, however it is written."""
    key = url_key(url)
    with _lock:
        if key is None:
            _raw.add(url)
        else:
            _keys.add(key)


def mask(text: str) -> str:
    """``text`` as a log record may show it."""
    with _lock:
        keys, raw = frozenset(_keys), tuple(_raw)
    for secret in raw:
        text = text.replace(secret, MASK)
    return mask_secrets_in(text, keys)


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Rewrite ``record`` in place (message, exception text, stack) with secrets masked."""
    import logging

    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging itself reports it later
        return record
    masked = mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record


def install() -> None:
    """Mask every record the process makes from now on (idempotent)."""
    import logging

    with _lock:
        current = logging.getLogRecordFactory()
        if getattr(current, "masks_secrets", False):
            return

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return mask_record(current(*args, **kwargs))

        factory.masks_secrets = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)


class _WhenLoaded:
    """A meta path finder that installs the masking as :mod:`logging` is first imported, by
    whichever library: a command that logs nothing need not import it (a tenth of the
    quickest command's time), and no record is ever made unmasked."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name != "logging":
            return None
        from importlib.machinery import PathFinder

        sys.meta_path.remove(self)
        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader: Any = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            install()

        loader.exec_module = exec_module
        return spec


def install_now_or_when_loaded() -> None:
    """:func:`install` at once when :mod:`logging` is loaded, else as it is first imported."""
    if "logging" in sys.modules:
        install()
    elif not any(isinstance(f, _WhenLoaded) for f in sys.meta_path):
        sys.meta_path.insert(0, _WhenLoaded())
