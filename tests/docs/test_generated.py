"""The generated reference parts and the config schema follow the code they describe."""

from __future__ import annotations

import inspect
import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
from pydantic import BaseModel

from sync.app import docgen
from sync.app.app_settings import AppSettings
from sync.app.cli import main
from sync.app.schema import FALLBACK, comments, config_schema, describe, target_models
from sync.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_generated_pages_are_current() -> None:
    assert docgen.stale() == [], "run: python -m sync.app.docgen"


def test_a_changed_model_makes_its_page_stale(tmp_path: Path) -> None:
    page = tmp_path / "settings.md"
    page.write_text("# x\n<!-- generated: settings -->\n<!-- /generated -->\n", encoding="utf-8")
    assert docgen.stale(tmp_path) == [page]
    page.write_text(docgen.render_page(page.read_text(encoding="utf-8")), encoding="utf-8")
    assert docgen.stale(tmp_path) == []
    assert "`IPSYNC_MAX_REMOVE_RATIO`" in page.read_text(encoding="utf-8")
    page.write_text(page.read_text(encoding="utf-8").replace("`0.3`", "`0.5`"), encoding="utf-8")
    assert docgen.stale(tmp_path) == [page]


def test_an_unknown_generated_part_is_an_error() -> None:
    with pytest.raises(KeyError, match="nothing"):
        docgen.render_page("<!-- generated: nothing -->\n<!-- /generated -->")


def _models() -> list[type[BaseModel]]:
    return [Settings, AppSettings, *(model for _, model in target_models())]


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_field_is_described(model: type[BaseModel]) -> None:
    missing = [name for name in model.model_fields if not describe(model, name)]
    assert missing == [], f"{model.__name__}: add Field(description=...) or a #: comment"


def test_fallback_descriptions_name_real_undescribed_fields() -> None:
    classes = {cls.__name__: cls for model in _models() for cls in model.__mro__}
    for owner, name in FALLBACK:
        cls = classes[owner]
        assert name in inspect.get_annotations(cls), (owner, name)
        assert not cls.model_fields[name].description, (owner, name)
        assert name not in comments(cls), (owner, name)


def test_schema_accepts_the_example_settings_file() -> None:
    data = tomllib.loads((ROOT / "examples" / "ipsync.toml").read_text(encoding="utf-8"))
    jsonschema.validate(data, config_schema())


LIST_TARGET = {
    "kind": "storage",
    "resource": "/subscriptions/<sub>/resourceGroups/rg/providers/Microsoft.Storage/"
    "storageAccounts/st1",
    "service_tags": ["AzureCloud.westeurope"],
    "fit": "cover",
}


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        ({}, True),
        ({"kind": None}, False),  # only an NSG target may leave out its kind
        ({"fit": "loose"}, False),
        ({"rule_prefix": "x"}, False),  # a field of another kind
        ({"kind": "sql"}, True),
        ({"kind": "ipgroup", "max_groups": 0}, False),
    ],
)
def test_schema_checks_targets_per_kind(change: dict[str, object], valid: bool) -> None:
    target = {k: v for k, v in {**LIST_TARGET, **change}.items() if v is not None}
    validator = jsonschema.Draft202012Validator(config_schema())
    assert validator.is_valid({"targets": [target]}) is valid


def test_schema_rejects_an_unknown_setting_and_takes_split_lists() -> None:
    validator = jsonschema.Draft202012Validator(config_schema())
    assert not validator.is_valid({"max_remove_ration": 0.3})
    assert validator.is_valid({"tag_overrides": "ports,priority"})
    assert not validator.is_valid({"max_remove_ratio": 2})


def test_schema_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(config_schema()))
    kinds = {
        d["properties"]["kind"].get("const")
        for d in printed["$defs"].values()
        if "kind" in d.get("properties", {})
    }
    assert kinds >= {name for name, _ in target_models()}
