"""Logging of runs, with structured fields, and Application Insights when it is configured.

Log records carry their fields in ``extra`` (run id, NSG, status, writes), which the Azure
Monitor exporter turns into custom dimensions. The exporter is only imported and started
when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set, so local runs and tests send nothing.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping

from sync.report import Report

#: The logger of the package; Application Insights collects this one and its children.
LOGGER = "sync"
log = logging.getLogger(LOGGER)


def setup(env: Mapping[str, str] | None = None) -> bool:
    """Start exporting ``sync`` logs to Application Insights once; True if it is on."""
    connection = (env if env is not None else os.environ).get(
        "APPLICATIONINSIGHTS_CONNECTION_STRING", ""
    )
    if not connection.strip():
        return False
    _start_exporter(connection.strip())
    return True


@functools.cache
def _start_exporter(connection: str) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(connection_string=connection, logger_name=LOGGER)


def log_report(report: Report, logger: logging.Logger = log) -> None:
    """One line per target and one for the run; problems at error level."""
    run = {"run_id": report.run_id, "dry_run": report.dry_run}
    for target in report.targets:
        bad = target.status in ("refused", "failed")
        added = sum(len(c.added) for c in target.changes)
        removed = sum(len(c.removed) for c in target.changes)
        logger.log(
            logging.ERROR if bad else logging.INFO,
            "target %s: %s, %d changes (+%d/-%d prefixes), %d writes%s",
            target.resource,
            target.status,
            len(target.changes),
            added,
            removed,
            target.writes,
            f": {target.error}" if target.error else "",
            extra={
                **run,
                "kind": target.kind,
                "resource": target.resource,
                "status": target.status,
                "writes": target.writes,
            },
        )
    outcome = "ok" if report.ok else "failed"
    logger.log(
        logging.ERROR if outcome == "failed" else logging.INFO,
        "run %s %s%s: %d targets, %d writes, %.1f s%s",
        report.run_id,
        outcome,
        " (dry run)" if report.dry_run else "",
        len(report.targets),
        report.writes,
        report.duration_s,
        f": {report.error}" if report.error else "",
        extra={**run, "outcome": outcome, "writes": report.writes},
    )
