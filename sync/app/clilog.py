"""The command line's log format and levels (progress of plan/apply, warnings elsewhere)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable


class _LogFormat(logging.Formatter):
    """``12:03:04 +1.2s message``: wall clock and seconds since the command started."""

    def __init__(self, began: float, names: bool) -> None:
        super().__init__(datefmt="%H:%M:%S")
        self._began = began
        self._names = names

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        name = f"{record.name}: " if self._names else ""
        stamp = f"{self.formatTime(record, self.datefmt)} +{record.created - self._began:.1f}s"
        text = f"{stamp} {level}{name}{record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def install(verbosity: int, progress: bool, began: float) -> Callable[[], None]:
    """Progress of plan/apply at INFO by default, debug with -v. The Azure SDK logs warnings
    only, and no sign-in warnings (ipsync reports a failed sign-in in one line), unless -v -v.
    Returns what puts the loggers back as they were."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LogFormat(began, names=verbosity > 0))
    default = logging.INFO if progress else logging.WARNING
    sdk = logging.DEBUG if verbosity >= 2 else None
    levels = {
        "": logging.WARNING,
        "sync": logging.DEBUG if verbosity else default,
        "azure": sdk or logging.WARNING,
        "azure.identity": sdk or logging.ERROR,
    }
    before = {name: logging.getLogger(name).level for name in levels}
    root = logging.getLogger()
    root.addHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)

    def undo() -> None:
        root.removeHandler(handler)
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)

    return undo
