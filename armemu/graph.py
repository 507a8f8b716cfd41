"""Azure Resource Graph (``POST /providers/Microsoft.ResourceGraph/resources``) over every
resource the emulator holds, for the small KQL subset a discovery query needs.

Understood, and nothing else (anything else is a 400 that says what was not understood)::

    resources
    | where <condition> [and <condition> ...]      (any number of where stages)
    | project <field>, <field>, ...                (optional)
    | order by <field> [asc | desc]                (optional; else rows come ordered by id)
    | limit <n>  |  take <n>                       (optional)

    <condition> := isnotempty(tags['<key>']) | isnotempty(tags.<key>)
                 | tags['<key>'] =~ '<value>' | tags['<key>'] == '<value>'
                 | type in~ ('<type>', ...) | type in ('<type>', ...)
                 | type =~ '<type>' | type == '<type>'
                 | <column> [!]contains[_cs] '<text>' | <column> [!]has[_cs] '<term>'
                 | tostring(tags) [!]contains[_cs] '<text>'   (and has: the tags as JSON text)

Stages apply in the order written (``limit`` before ``order by`` keeps the first rows by id).
``contains`` finds a substring, ``has`` a whole term (no letter or digit either side), both
ignoring case unless ``_cs``; the columns are name, id, type, location, resourceGroup,
subscriptionId and kind.
Rows have ARG's columns (``type`` lower-case, as ARG returns it); tag keys match exactly as
written, ``=~``/``in~`` compare case-insensitively and ``==``/``in`` exactly. Scopes:
``subscriptions`` limits rows to those subscriptions (at most :data:`MAX_SUBSCRIPTIONS`, as
ARG's; the error answered beyond is unconfirmed); ``managementGroups`` (any name) and no scope
search every subscription. Paging: ``options.$top`` (default 100, at most 1000),
``options.$skip`` and ``options.$skipToken``; a token is only given when the rows carry ``id``
(as in ARG), otherwise ``resultTruncated`` is "true". Only ``resultFormat: objectArray``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from armemu import errors

FIELDS = (
    "id", "name", "type", "tenantId", "kind", "location", "resourceGroup", "subscriptionId",
    "managedBy", "sku", "plan", "properties", "tags", "identity", "zones", "extendedLocation",
)  # fmt: skip
DEFAULT_TOP, MAX_TOP = 100, 1000
#: Subscriptions one query may name ("Troubleshoot errors in Azure Resource Graph")
MAX_SUBSCRIPTIONS = 1000
_STRING = r"""(?:'([^']*)'|"([^"]*)")"""
_TAG = rf"tags(?:\[\s*{_STRING}\s*\]|\.([A-Za-z_][A-Za-z0-9_]*))"
#: columns the string operators read; ``tostring(tags)`` reads the tags as JSON text
_TEXT_COLUMNS = r"name|id|type|location|resourceGroup|subscriptionId|kind|tostring\(\s*tags\s*\)"
_CONDITIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"^{pattern}$", re.IGNORECASE), kind)
    for pattern, kind in (
        (rf"isnotempty\(\s*{_TAG}\s*\)", "tag_present"),
        (rf"{_TAG}\s*(=~|==)\s*{_STRING}", "tag_equals"),
        (r"type\s+(in~|in)\s*\((.*)\)", "type_in"),
        (rf"type\s*(=~|==)\s*{_STRING}", "type_equals"),
        (rf"({_TEXT_COLUMNS})\s+(!?(?:contains|has)(?:_cs)?)\s+{_STRING}", "text"),
    )
)
Row = dict[str, Any]
Predicate = Callable[[Row], bool]
Stage = Callable[[list[Row]], list[Row]]


def row(resource: dict[str, Any], subscription: str, resource_group: str) -> Row:
    """A rendered ARM resource as an ARG row."""
    return {
        "id": resource["id"],
        "name": resource["name"],
        "type": resource["type"].lower(),
        "tenantId": "",
        "kind": resource.get("kind", ""),
        "location": resource.get("location", ""),
        "resourceGroup": resource_group.lower(),
        "subscriptionId": subscription,
        "managedBy": "",
        "sku": resource.get("sku"),
        "plan": None,
        "properties": resource.get("properties", {}),
        "tags": resource.get("tags") or {},
        "identity": None,
        "zones": None,
        "extendedLocation": None,
    }


def query(body: Any, rows: Iterable[Row]) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise errors.graph_bad_query("The request needs a 'query' string.")
    options = body.get("options") or {}
    if str(options.get("resultFormat", "objectArray")) != "objectArray":
        raise errors.graph_bad_query("Only resultFormat 'objectArray' is emulated.")
    subscriptions = body.get("subscriptions")
    wanted = None
    if isinstance(subscriptions, list):
        if len(subscriptions) > MAX_SUBSCRIPTIONS:
            raise errors.graph_too_many_subscriptions(len(subscriptions), MAX_SUBSCRIPTIONS)
        wanted = {s.lower() for s in subscriptions}
    stages, columns = _parse(body["query"])
    found = sorted(
        (r for r in rows if wanted is None or r["subscriptionId"].lower() in wanted),
        key=lambda r: str(r["id"]).lower(),
    )  # ARG's order is unspecified without `order by`; the emulator's is the id, so pages hold
    for stage in stages:
        found = stage(found)
    start = _start(options)
    top = _top(options)
    page = found[start : start + top]
    more = start + len(page) < len(found)
    result: dict[str, Any] = {
        "totalRecords": len(found),
        "count": len(page),
        "resultTruncated": "true" if more and "id" not in columns else "false",
    }
    if more and "id" in columns:
        result["$skipToken"] = base64.b64encode(f"offset:{start + len(page)}".encode()).decode()
    result["data"] = [{c: r.get(c) for c in columns} for r in page]
    result["facets"] = []
    return result


def _parse(text: str) -> tuple[list[Stage], tuple[str, ...]]:
    """The query's stages, applied in order, and the columns it projects."""
    stages_text = [s.strip() for s in _split_pipes(text)]
    if not stages_text or stages_text[0].lower() != "resources":
        raise errors.graph_bad_query(
            f"The emulator only queries the 'resources' table; the query starts {stages_text[0]!r}."
        )
    stages: list[Stage] = []
    columns: tuple[str, ...] = FIELDS
    for stage in stages_text[1:]:
        verb, _, rest = stage.partition(" ")
        verb = verb.lower()
        if verb == "where":
            stages.append(_where([_condition(c) for c in _conjuncts(rest)]))
        elif verb == "project":
            columns = tuple(_field(f) for f in rest.split(","))
        elif verb == "order" and rest.lower().startswith("by "):
            stages.append(_order(stage, rest[3:].split()))
        elif verb in ("limit", "take"):
            if not rest.strip().isdigit():
                raise errors.graph_bad_query(
                    f"The emulator reads {verb} with a whole number, not {rest.strip()!r}."
                )
            stages.append(_take(int(rest)))
        else:
            raise errors.graph_bad_query(
                f"The emulator does not understand the stage {stage!r}: it reads only where, "
                "project, order by, limit and take."
            )
    return stages, columns


def _conjuncts(text: str) -> list[str]:
    """The conditions of ``a and b``: ``and`` outside quotes only."""
    parts = re.split(r"""\s+and\s+(?=(?:[^'"]*['"][^'"]*['"])*[^'"]*$)""", text.strip(), flags=re.I)
    return [p for p in parts if p]


def _where(tests: list[Predicate]) -> Stage:
    return lambda rows: [r for r in rows if all(test(r) for test in tests)]


def _take(count: int) -> Stage:
    return lambda rows: rows[:count]


def _order(stage: str, words: list[str]) -> Stage:
    if not 1 <= len(words) <= 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
        raise errors.graph_bad_query(f"Cannot read the order clause {stage!r}.")
    field, descending = _field(words[0]), len(words) == 2 and words[1].lower() == "desc"
    return lambda rows: sorted(rows, key=lambda r: str(r.get(field) or "").lower(),
                               reverse=descending)  # fmt: skip


def _split_pipes(text: str) -> list[str]:
    parts, current, quote = [], "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "|":
            parts.append(current)
            current = ""
            continue
        current += char
    return [*parts, current]


def _field(name: str) -> str:
    name = name.strip()
    for known in FIELDS:
        if known.lower() == name.lower():
            return known
    raise errors.graph_bad_query(
        f"Unknown column {name!r}; the emulator knows {', '.join(FIELDS)}."
    )


def _condition(text: str) -> Predicate:
    text = text.strip()
    for pattern, kind in _CONDITIONS:
        match = pattern.match(text)
        if match is None:
            continue
        groups = [g for g in match.groups() if g is not None]
        if kind == "tag_present":
            key = groups[0]
            return lambda r: bool(str((r["tags"] or {}).get(key) or ""))
        if kind == "tag_equals":
            key, op, value = groups
            return lambda r: _same(str((r["tags"] or {}).get(key, "")), value, op == "=~")
        if kind == "text":
            column, op, needle = groups
            if column.lower().startswith("tostring"):
                return _text(TAGS_TEXT, op.lower(), needle)
            return _text(_field(column), op.lower(), needle)
        if kind == "type_in":
            op, inner = groups
            values = [a or b for a, b in re.findall(_STRING, inner)]
            return lambda r: any(_same(r["type"], v, op == "in~") for v in values)
        op, value = groups
        return lambda r: _same(r["type"], value, op == "=~")
    raise errors.graph_bad_query(
        f"The emulator does not understand the condition {text!r}; it reads isnotempty(tags[..]), "
        "tags[..] =~/== '..', type in~/in (..), type =~/== '..' and <column> [!]contains/has "
        "[_cs] '..'."
    )


def _text(column: str, op: str, needle: str) -> Predicate:
    """``contains`` (a substring) and ``has`` (a whole term: no letter or digit either side),
    ignoring case unless ``_cs``; ``!`` negates. :data:`TAGS_TEXT` is ``tostring(tags)``."""
    negate, base = op.startswith("!"), op.lstrip("!")
    flags = 0 if base.endswith("_cs") else re.IGNORECASE
    pattern = re.escape(needle)
    if base.startswith("has"):
        pattern = rf"(?<![0-9A-Za-z]){pattern}(?![0-9A-Za-z])"
    compiled = re.compile(pattern, flags)
    if column == TAGS_TEXT:
        return lambda r: (compiled.search(_json(r["tags"])) is not None) != negate
    return lambda r: (compiled.search(str(r.get(column) or "")) is not None) != negate


#: ``tostring(tags)`` among the text columns
TAGS_TEXT = "tostring(tags)"


def _json(tags: Any) -> str:
    """A dynamic value as KQL's ``tostring`` writes it: compact JSON."""
    return json.dumps(tags or {}, separators=(",", ":"), ensure_ascii=False)


def _same(actual: str, expected: str, insensitive: bool) -> bool:
    return actual.lower() == expected.lower() if insensitive else actual == expected


def _top(options: dict[str, Any]) -> int:
    top = options.get("$top", DEFAULT_TOP)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise errors.graph_bad_query(f"$top must be an integer from 1 to {MAX_TOP}, not {top!r}.")
    return top


def _start(options: dict[str, Any]) -> int:
    token = options.get("$skipToken")
    if token:
        try:
            text = base64.b64decode(str(token), validate=True).decode()
            return int(text.removeprefix("offset:"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise errors.graph_bad_query(f"The $skipToken {token!r} is not valid.") from None
    skip = options.get("$skip", 0)
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise errors.graph_bad_query(f"$skip must be a non-negative integer, not {skip!r}.")
    return skip
