"""Run logging with structured fields, and Application Insights only when configured."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sync.app.telemetry import log_report
from sync.report import Report, TargetReport

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, logging, sys
from sync.app import telemetry
on = telemetry.setup({"APPLICATIONINSIGHTS_CONNECTION_STRING": sys.argv[1]})
print(json.dumps({"on": on, "imported": "azure.monitor.opentelemetry" in sys.modules,
                  "handlers": [type(h).__name__ for h in logging.getLogger("sync").handlers]}))
"""


def _probe(connection: str, tmp_path: Path) -> dict[str, object]:
    """Telemetry set up in a fresh interpreter (it installs process-wide providers)."""
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, connection],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(out.stdout.splitlines()[-1])
    return result


def test_no_connection_string_means_no_exporter(tmp_path: Path) -> None:
    assert _probe("  ", tmp_path) == {"on": False, "imported": False, "handlers": []}


def test_connection_string_attaches_the_exporter_to_the_sync_logger(tmp_path: Path) -> None:
    # a loopback ingestion endpoint where nothing listens: nothing leaves the machine
    connection = (
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
        "IngestionEndpoint=http://127.0.0.1:9/"
    )
    result = _probe(connection, tmp_path)
    assert (result["on"], result["imported"]) == (True, True)
    assert result["handlers"] == ["LoggingHandler"]


def test_report_lines_carry_fields_and_problems_are_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = Report(
        ok=False,
        dry_run=True,
        run_id="r1",
        targets=[
            TargetReport(kind="nsg", resource="/nsg/a", status="planned", writes=0),
            TargetReport(kind="sql", resource="/sql/b", status="refused", error="removes 40%"),
        ],
    )
    with caplog.at_level(logging.INFO, logger="sync"):
        log_report(report)
    by_resource = {getattr(r, "resource", None): r for r in caplog.records}
    assert by_resource["/nsg/a"].levelno == logging.INFO
    assert getattr(by_resource["/sql/b"], "kind", None) == "sql"
    assert by_resource["/sql/b"].levelno == logging.ERROR
    assert "removes 40%" in by_resource["/sql/b"].getMessage()
    assert {getattr(r, "run_id", None) for r in caplog.records} == {"r1"}
    outcome = by_resource[None]
    assert (getattr(outcome, "outcome", None), outcome.levelno) == ("failed", logging.ERROR)
