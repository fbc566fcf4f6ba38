"""FLUXUS_WEBHOOKS_ALLOW_PRIVATE says the same in the settings, the chart and the README:
off by default, with one description."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from services.core.config import Settings, describe

ROOT = Path(__file__).resolve().parents[3]
NAME = "FLUXUS_WEBHOOKS_ALLOW_PRIVATE"


def test_the_setting_the_chart_and_the_readme_agree() -> None:
    [row] = [r for r in describe() if r["env"] == NAME]
    assert row["default"] is False and Settings().webhooks_allow_private is False
    assert Settings.from_env({"FLUXUS_ENV": "development", NAME: "1"}).webhooks_allow_private
    values = yaml.safe_load((ROOT / "charts/fluxus/values.yaml").read_text())
    assert values["config"][NAME] == "false"
    schema = json.loads((ROOT / "charts/fluxus/values.schema.json").read_text())
    assert schema["properties"]["config"]["properties"][NAME]["description"] == row["doc"]
    readme = (ROOT / "README.md").read_text()
    [line] = [ln for ln in readme.splitlines() if ln.startswith(f"| `{NAME}` |")]
    assert f"| `false` |  | {row['doc']} |" in line
