"""The service tags JSON read tag by tag, each tag's place in the text kept.

A weekly release changes about a hundred of its 3,000 tags. Reading it tag by tag lets the
release be kept as its own text with each tag's span (:mod:`sync.feeds.azure.kept`), and lets
the next release take a tag whose bytes equal those of a tag that passed the same checks in
the release before as it is: not decoded, checked or copied, only decoded when a run selects it.
The stdlib's own JSON scanner reads every value, so what is decoded is decoded exactly as
``json.loads`` would; any document it cannot take this way (not ASCII, not an object, a
repeated ``values``) is left to ``json.loads`` whole, which names the fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple, cast

from sync.feeds.azure.layout import Layout

#: JSON whitespace from a position on: it matches the empty string, so it never fails.
_space = cast(Callable[[str, int], "re.Match[str]"], re.compile(r"[ \t\n\r]*").match)
#: The start of a tag written as Azure writes it: its name first, without escapes.
_NAME = re.compile(r'\{[ \t\n\r]*"name"[ \t\n\r]*:[ \t\n\r]*"([^"\\]*)"')
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class Skim(NamedTuple):
    """A document read tag by tag: its fields but ``values``, and each entry of ``values``
    decoded, or None where it was taken as the equal tag of ``known``."""

    fields: dict[str, Any]
    entries: list[Any]
    names: list[str | None]  # the known tag's name where taken, else None
    starts: list[int]
    ends: list[int]


def skim(text: bytes, known: Known) -> Skim | None:
    """The document read tag by tag, or None when it is not an ASCII JSON object holding one
    ``values`` list (``json.loads`` then reads it, and names any fault)."""
    if not text.isascii():
        return None
    doc = text.decode("ascii")
    try:
        return _object(doc, text, known)
    except (StopIteration, IndexError, ValueError, RecursionError):
        return None


def _object(doc: str, text: bytes, known: Known) -> Skim | None:
    space = _space
    pos = space(doc, 0).end()
    if doc[pos] != "{":
        return None
    fields: dict[str, Any] = {}
    found: Skim | None = None
    pos = space(doc, pos + 1).end()
    while doc[pos] != "}":
        key, pos = _SCAN(doc, pos)
        pos = space(doc, pos).end()
        if not isinstance(key, str) or doc[pos] != ":":
            return None
        pos = space(doc, pos + 1).end()
        if key == "values" and doc[pos] == "[":
            if found is not None:
                return None  # ``json.loads`` keeps the last: leave it to it
            found, pos = _values(doc, text, pos + 1, known, fields)
        else:
            fields[key], pos = _SCAN(doc, pos)
        pos = space(doc, pos).end()
        if doc[pos] == ",":
            pos = space(doc, pos + 1).end()
        elif doc[pos] != "}":
            return None
    if found is None or space(doc, pos + 1).end() != len(doc) or "values" in fields:
        return None
    return found


class Known:
    """The release known before (its layout, or none), for finding its tags again: a week's
    release holds most of them as they were, in the same order, so whole stretches of them
    are compared at once."""

    def __init__(self, layout: Layout | None) -> None:
        self.text = memoryview(layout.text if layout is not None else b"")
        self.names = layout.names if layout is not None else []
        self.starts = layout.starts if layout is not None else []
        self.ends = layout.ends if layout is not None else []
        self.counts = layout.counts if layout is not None else []
        self.at = layout.places() if layout is not None else {}

    def run(self, text: bytes, pos: int, first: int) -> int:
        """How many known tags from ``first`` on, with what lies between them, ``text`` holds
        as they are from ``pos``: the longest such stretch, found by doubling then halving."""
        starts, ends, view = self.starts, self.ends, self.text
        base, most = starts[first] if first < len(starts) else 0, len(starts) - first

        def holds(count: int) -> bool:
            return text.startswith(view[base : ends[first + count - 1]], pos)

        if most <= 0 or not holds(1):
            return 0
        good, step = 1, 2
        while step <= most and holds(step):
            good, step = step, 2 * step
        bad = min(step, most + 1)
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (middle, bad) if holds(middle) else (good, middle)
        return good

    def prefixes(self, names: list[str]) -> set[str]:
        """The prefixes the known tags of these names held (a damaged one counts for none:
        its prefixes are then checked again)."""
        held: set[str] = set()
        for name in names:
            place = self.at.get(name)
            if place is None:
                continue
            try:  # anything but a string matches no prefix: it trusts nothing
                span = self.text[self.starts[place] : self.ends[place]].tobytes()
                held.update(json.loads(span)["properties"]["addressPrefixes"])
            except (ValueError, TypeError, KeyError):
                continue
        return held


def _values(
    doc: str, text: bytes, pos: int, known: Known, fields: dict[str, Any]
) -> tuple[Skim, int]:
    """The entries of ``values`` from just inside its ``[``; the position after its ``]``.
    A stretch of tags as they were is taken whole; a tag moved elsewhere is taken as it was
    when its bytes are; any other is decoded."""
    space, name_at = _space, _NAME.match
    found = Skim(fields, [], [], [], [])
    entries, names, starts, ends = found.entries, found.names, found.starts, found.ends
    pos = space(doc, pos).end()
    if doc[pos] == "]":
        return found, pos + 1
    expected = 0  # the known tag that would come next, were nothing changed
    while True:
        count = known.run(text, pos, expected)
        place = None
        if not count:  # moved, changed or new: a known tag of its name, as it was?
            named = name_at(doc, pos)
            place = known.at.get(named[1]) if named else None
            if place is not None and place != expected:
                count = known.run(text, pos, place)
                expected = place if count else expected
        if count:
            shift, stretch = pos - known.starts[expected], slice(expected, expected + count)
            entries += [None] * count
            names += known.names[stretch]
            starts += [start + shift for start in known.starts[stretch]]
            ends += [end + shift for end in known.ends[stretch]]
            pos = ends[-1]
            expected += count
        else:
            starts.append(pos)
            entry, pos = _SCAN(doc, pos)
            entries.append(entry)
            names.append(None)
            ends.append(pos)
            if place is not None:  # a changed tag: the one after it comes next
                expected = place + 1
        pos = space(doc, pos).end()
        if doc[pos] == "]":
            return found, pos + 1
        if doc[pos] != ",":
            raise ValueError(pos)
        pos = space(doc, pos + 1).end()
