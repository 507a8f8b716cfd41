"""BENCHMARKS.md: the machine, then each section's method and figures beside their baselines."""

from __future__ import annotations

from bench.common import Figure, Section

_MET = {True: "met", False: "**MISSED**", None: "-"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(figures: list[Figure]) -> list[str]:
    rows = ["| figure | ipsync | baseline | ratio | goal | met |", "|---|---|---|---|---|---|"]
    for f in figures:
        cells = (f.name, f.value, f.baseline, f.ratio, f.goal, _MET[f.met])
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows


def render_section(section: Section) -> str:
    lines = [f"## {section.title}", "", section.method, ""]
    for problem in section.problems:
        lines += [f"> **MISMATCH / BUG: {problem}**", ""]
    lines += [*table(section.figures), ""]
    commands = list(dict.fromkeys(f.command for f in section.figures))
    if commands:
        lines += ["Reproduce: " + ", ".join(f"`{c}`" for c in commands), ""]
    if section.details:
        lines += [*section.details, ""]
    return "\n".join(lines)


def render(machine: list[str], sections: list[Section], header: list[str]) -> str:
    missed = [f"{s.title}: {f.name}" for s in sections for f in s.figures if f.met is False]
    problems = [f"{s.title}: {p}" for s in sections for p in s.problems]
    lines = ["# Benchmarks", "", *header, "", "## Machine", "", *machine, ""]
    lines += ["## Summary", ""]
    goals = [f for s in sections for f in s.figures if f.met is not None]
    lines.append(f"{sum(bool(f.met) for f in goals)} of {len(goals)} goals met.")
    lines += [f"- missed: {m}" for m in missed]
    lines += [f"- **correctness problem: {p}**" for p in problems]
    lines.append("")
    lines += [render_section(s) for s in sections]
    return "\n".join(lines).rstrip() + "\n"
