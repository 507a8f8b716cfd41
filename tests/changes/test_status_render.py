"""The status page's markup: escaped values, nothing loaded from elsewhere, no script."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

from sync.app.chart import axis_top, line_chart
from sync.app.status import CSP, PublishedList, render_status
from sync.report import Fit, Report, SourceInfo, TargetReport

HOSTILE = '<script>alert("x")</script><img src=https://evil.example/x.png>'
WHEN = datetime(2025, 10, 17, 5, 0, tzinfo=UTC)


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def report(
    change_number: int, resource: str, error: str | None = None, entries: int = 10
) -> Report:
    return Report(
        ok=error is None,
        dry_run=False,
        run_id=f"2025101{change_number % 10}T043000123Z-1a2b3c4d",
        started_at=f"2025-10-1{change_number % 10}T04:30:00+00:00",
        source=SourceInfo(cloud="Public", change_number=change_number, origin="o", sha256="0"),
        targets=[
            TargetReport(
                kind="storage",
                resource=resource,
                status="refused" if error else "applied",
                error=error,
                service_tags=[HOSTILE],
                fit=Fit(entries=entries, capacity=400, extra_addresses=5),
                notes=[HOSTILE],
            )
        ],
        error=error,
    )


def page() -> str:
    reports = [report(1, f"/x/{HOSTILE}"), report(2, f"/x/{HOSTILE}", error=HOSTILE, entries=20)]
    lists = [
        PublishedList("edl", "javascript:alert(1)", {"status": "refused", "problem": HOSTILE}),
        PublishedList("ok", "https://app.example/api/lists/ok", {}),
    ]
    return render_status(reports, lists=lists, generated_at=WHEN)


def test_every_value_is_escaped_and_nothing_loads_from_elsewhere() -> None:
    html = page()
    found = Elements()
    found.feed(html)
    names = {tag for tag, _ in found.tags}
    assert "script" not in names
    assert "img" not in names
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    for tag, attrs in found.tags:
        assert "src" not in attrs, tag
        assert not any(k.startswith("on") for k in attrs), tag
    links = [attrs.get("href") for tag, attrs in found.tags if tag == "a"]
    assert links == ["https://app.example/api/lists/ok"]  # not the javascript: one
    meta = [a for t, a in found.tags if t == "meta" and a.get("http-equiv")]
    assert meta == [{"http-equiv": "Content-Security-Policy", "content": CSP}]
    assert "default-src 'none'" in CSP


def test_the_chart_has_a_point_per_release_and_target() -> None:
    html = page()
    found = Elements()
    found.feed(html)
    assert sum(1 for tag, _ in found.tags if tag == "circle") == 2
    assert sum(1 for tag, _ in found.tags if tag == "polyline") == 1
    assert [t for t, _ in found.tags].count("svg") == 1


def test_a_gap_breaks_the_line() -> None:
    svg = line_chart(["1", "2", "3", "4"], {"a": [5, None, 7, 8]}, label="x")
    assert svg.count("<polyline") == 1  # 7-8; the lone 5 is a marker only
    assert svg.count("<circle") == 3


def test_axis_tops_are_round() -> None:
    assert [axis_top(v) for v in (0, 1, 3, 7, 10, 11, 2594, 4000)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        5000,
        5000,
    ]


def test_no_runs_yet() -> None:
    html = render_status([], generated_at=WHEN)
    assert "No run has been stored yet." in html
    assert "<svg" not in html
