"""Module loggers that import :mod:`logging` only when something is logged.

The command line's quickest path, ``prefixes`` of a release read before, logs nothing; importing
``logging`` (and ``traceback``, ``tokenize``, ``textwrap``, ``threading`` with it) would cost it
a tenth of its time. The modules on that path take their logger from :func:`get_logger`; the
command line sets its log format up with :func:`on_first_use`, when the first record comes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import logging

_pending: list[Callable[[], None]] = []


def on_first_use(setup: Callable[[], None] | None) -> None:
    """Run ``setup`` before the first use of a logger of :func:`get_logger` (None: forget it)."""
    _pending[:] = [setup] if setup is not None else []


class _Deferred:
    """Stands for ``logging.getLogger(name)`` until used."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import logging

        while _pending:
            _pending.pop()()
        return getattr(logging.getLogger(self._name), attr)


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``, imported when first used."""
    return cast("logging.Logger", _Deferred(name))
