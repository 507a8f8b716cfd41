"""A small line chart as inline SVG: entries per target over the kept releases.

For the status page, which loads nothing from elsewhere: the chart is markup in the page, its
text escaped, its colours a palette told apart with the common colour-vision deficiencies, and
every point carries its value as a tooltip. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

#: Okabe and Ito's palette: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT = 720, 260
#: Plot margins: left (y labels), right, top, bottom (x labels).
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 40


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def line_chart(xs: Sequence[str], series: Mapping[str, Sequence[int | None]], *, label: str) -> str:
    """An SVG of one line per series over the ``xs`` (a value None is a gap).

    ``label`` names the chart for assistive technology (its ``<title>``).
    """
    values = [v for points in series.values() for v in points if v is not None]
    top = axis_top(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(xs) - 1, 1)

    def x(i: int) -> float:
        return LEFT + (i * step if len(xs) > 1 else plot_w / 2)

    def y(v: int) -> float:
        return TOP + plot_h - (v / top * plot_h if top else 0)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" class="chart">',
        f"<title>{escape(label)}</title>",
    ]
    for tick in (0, top // 2, top):
        parts.append(
            f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{WIDTH - RIGHT}" y2="{y(tick):.1f}" '
            'class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:,}</text>'
        )
    for i, name in enumerate(xs):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
            f"{escape(name)}</text>"
        )
    for index, (name, points) in enumerate(series.items()):
        parts.append(_series(name, points, colour(index), x, y))
    parts.append("</svg>")
    return "".join(parts)


def _series(
    name: str,
    points: Sequence[int | None],
    stroke: str,
    x: Callable[[int], float],
    y: Callable[[int], float],
) -> str:
    """One line (broken at gaps) and a marker per point, each with a tooltip."""
    runs: list[list[str]] = [[]]
    marks = []
    for i, value in enumerate(points):
        if value is None:
            runs.append([])
            continue
        px, py = x(i), y(value)
        runs[-1].append(f"{px:.1f},{py:.1f}")
        marks.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{stroke}">'
            f"<title>{escape(name)}: {value:,}</title></circle>"
        )
    lines = "".join(
        f'<polyline points="{" ".join(run)}" fill="none" stroke="{stroke}" stroke-width="2"/>'
        for run in runs
        if len(run) > 1
    )
    return f'<g class="series">{lines}{"".join(marks)}</g>'


def axis_top(value: int) -> int:
    """A round upper bound at or above ``value`` for the axis (1, 2 or 5 times a power of 10)."""
    if value <= 0:
        return 1
    base = 1
    while True:
        for factor in (1, 2, 5):
            if base * factor >= value:
                return base * factor
        base *= 10
