"""checkov over the Bicep templates: everything parses, and every failed check is a
documented, still-needed exception in ``infra/checkov-skips.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .bicep_text import INFRA

SKIPS: dict[str, str] = json.loads((INFRA / "checkov-skips.json").read_text(encoding="utf-8"))

#: Templates no checkov Bicep check applies to (so no result names them).
UNCHECKED = {
    "monitoring.bicep": "checkov has no Bicep checks for Log Analytics, Application Insights "
    "or log alerts",
    "role-assignment.bicep": "checkov checks role definitions (no custom owner role), not role "
    "assignments; tests/infra/test_role.py checks what is assigned where",
}


def _results(report: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return list(report.get("results", {}).get(kind, []))


def test_every_template_parses(checkov_report: dict[str, Any]) -> None:
    # checkov exits 0 when a file fails to parse: the JSON is the only place that says so.
    errors = checkov_report.get("results", {}).get("parsing_errors", [])
    assert errors == []
    assert checkov_report["summary"]["parsing_errors"] == 0


def test_checks_ran_on_every_module(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    assert summary["passed"] + summary["failed"] > 0
    checked = {
        Path(r["file_path"]).name
        for kind in ("passed_checks", "failed_checks")
        for r in _results(checkov_report, kind)
    }
    templates = {p.name for p in INFRA.rglob("*.bicep")}
    assert sorted(templates - checked) == sorted(UNCHECKED)


def test_failed_checks_are_documented_skips(checkov_report: dict[str, Any]) -> None:
    undocumented = sorted(
        f"{r['check_id']} {r['resource']} ({r['file_path']}): {r['check_name']}"
        for r in _results(checkov_report, "failed_checks")
        if r["check_id"] not in SKIPS
    )
    assert undocumented == [], "fix these or add them with a reason to infra/checkov-skips.json"


def test_every_skip_is_needed_and_explained(checkov_report: dict[str, Any]) -> None:
    failing = {r["check_id"] for r in _results(checkov_report, "failed_checks")}
    assert sorted(set(SKIPS) - failing) == [], "stale entries in infra/checkov-skips.json"
    unexplained = [c for c, why in SKIPS.items() if len(why.split()) < 8 or "CKV_AZURE_" not in c]
    assert unexplained == [], "each skip is a checkov id with a real reason"
