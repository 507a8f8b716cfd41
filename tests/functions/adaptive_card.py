"""The rules of an Adaptive Card of schema version 1.4 for the elements ipsync's card uses, as
a JSON Schema (draft 6, like Microsoft's own ``adaptive-card.json``).

Written from the rules Microsoft's schema 1.4 documents for these elements (its file is not
available offline): each element's properties, none beyond them (``additionalProperties:
false``, so a property of a later version such as 1.5's ``rtl`` is refused), the required ones,
and the enumerations, matched in any case as the schema does. Elements and actions the card
does not use are not described, so the card may use none of them.
"""

from __future__ import annotations

from typing import Any


def _any_case(*words: str) -> dict[str, Any]:
    return {"type": "string", "pattern": f"(?i)^({'|'.join(words)})$"}


SPACING = _any_case("default", "none", "small", "medium", "large", "extraLarge", "padding")
#: Properties every element may have (``Extendable.Element``).
ELEMENT = {
    "fallback": {},
    "height": _any_case("auto", "stretch"),
    "separator": {"type": "boolean"},
    "spacing": SPACING,
    "id": {"type": "string"},
    "isVisible": {"type": "boolean"},
    "requires": {"type": "object", "additionalProperties": {"type": "string"}},
}


def _typed(name: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """An object of type ``name`` with the ``required`` properties and no unknown one."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": {"type": {"const": name}, **properties},
    }


def _array_of(definition: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/definitions/{definition}"}}


CARD_1_4: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-06/schema#",
    "definitions": {
        "TextBlock": _typed(
            "TextBlock",
            ["type", "text"],
            {
                "text": {"type": "string"},
                "color": _any_case(
                    "default", "dark", "light", "accent", "good", "warning", "attention"
                ),
                "fontType": _any_case("default", "monospace"),
                "horizontalAlignment": _any_case("left", "center", "right"),
                "isSubtle": {"type": "boolean"},
                "maxLines": {"type": "number"},
                "size": _any_case("default", "small", "medium", "large", "extraLarge"),
                "weight": _any_case("default", "lighter", "bolder"),
                "wrap": {"type": "boolean"},
                **ELEMENT,
            },
        ),
        # A fact's ``type`` is optional: only its title and value are required.
        "Fact": _typed(
            "Fact", ["title", "value"], {"title": {"type": "string"}, "value": {"type": "string"}}
        ),
        "FactSet": _typed("FactSet", ["type", "facts"], {"facts": _array_of("Fact"), **ELEMENT}),
        "Container": _typed(
            "Container",
            ["type", "items"],
            {
                "items": _array_of("Element"),
                "style": _any_case("default", "emphasis", "good", "attention", "warning", "accent"),
                "verticalContentAlignment": _any_case("top", "center", "bottom"),
                "bleed": {"type": "boolean"},
                "minHeight": {"type": "string"},
                **ELEMENT,
            },
        ),
        "Element": {
            "oneOf": [
                {"$ref": "#/definitions/TextBlock"},
                {"$ref": "#/definitions/FactSet"},
                {"$ref": "#/definitions/Container"},
            ]
        },
        "Action.OpenUrl": _typed(
            "Action.OpenUrl",
            ["type", "url"],
            {
                "url": {"type": "string", "format": "uri-reference"},
                "title": {"type": "string"},
                "iconUrl": {"type": "string"},
                "style": _any_case("default", "positive", "destructive"),
                "fallback": {},
                "requires": {"type": "object"},
            },
        ),
    },
    **_typed(
        "AdaptiveCard",
        ["type", "version"],
        {
            "version": {"type": "string"},
            "$schema": {"type": "string", "format": "uri"},
            "fallbackText": {"type": "string"},
            "speak": {"type": "string"},
            "lang": {"type": "string"},
            "minHeight": {"type": "string"},
            "verticalContentAlignment": _any_case("top", "center", "bottom"),
            "body": _array_of("Element"),
            "actions": _array_of("Action.OpenUrl"),
        },
    ),
}

#: What a Teams Workflows webhook ("When a Teams webhook request is received", then "Post card
#: in a chat or channel" for each attachment) takes: a message with Adaptive Card attachments.
WORKFLOWS_MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["type", "attachments"],
    "properties": {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["contentType", "content"],
                "properties": {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": "null"},
                    "content": {"type": "object"},
                },
            },
        },
    },
}
