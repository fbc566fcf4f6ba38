"""The Plan CRD: one source of truth, and the sample plans are valid against its schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.chart.helpers import CHART, REPO

pytestmark = pytest.mark.integration

CRD_SOURCE = REPO / "k8s" / "crds" / "plan.yaml"
SAMPLES = sorted((REPO / "k8s" / "samples").glob("*.yaml"))


def to_jsonschema(node: Any) -> Any:
    """OpenAPI v3 (as CRDs use it) -> JSON Schema: `nullable: true` becomes a null type."""
    if isinstance(node, dict):
        out = {k: to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes")}
        if out.pop("nullable", False) and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [to_jsonschema(item) for item in node]
    return node


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(CRD_SOURCE.read_text())
    return doc


@pytest.fixture(scope="module")
def validator(crd: dict[str, Any]) -> jsonschema.Draft7Validator:
    (version,) = crd["spec"]["versions"]
    schema = to_jsonschema(version["schema"]["openAPIV3Schema"])
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def test_chart_crd_is_an_identical_copy_of_the_source() -> None:
    assert (CHART / "files" / "crds" / "plan.yaml").read_bytes() == CRD_SOURCE.read_bytes()


def test_crd_names_versions_and_columns(crd: dict[str, Any]) -> None:
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "plans.billing.fluxus.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "Plan"
    assert spec["names"]["shortNames"] == ["pl"]
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1", True, True)
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
    assert list(columns) == ["Display Name", "Price", "Cycle", "Active", "Ready", "Age"]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    assert status["x-kubernetes-preserve-unknown-fields"] is True


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_plans_are_valid(path: Path, validator: jsonschema.Draft7Validator) -> None:
    plan = yaml.safe_load(path.read_text())
    errors = [e.message for e in validator.iter_errors(plan)]
    assert errors == []
    assert plan["metadata"]["name"] == path.stem
    assert plan["spec"]["currency"] == "TWD"


def test_the_five_expected_samples_exist() -> None:
    assert {p.stem for p in SAMPLES} == {
        "starter-monthly",
        "pro-monthly",
        "business-monthly",
        "pro-yearly",
        "business-yearly",
    }
    pro = yaml.safe_load((REPO / "k8s" / "samples" / "pro-monthly.yaml").read_text())["spec"]
    assert (pro["price"], pro["popular"], pro["trialDays"]) == (990, True, 14)


GOOD = {
    "apiVersion": "billing.fluxus.dev/v1",
    "kind": "Plan",
    "metadata": {"name": "ok"},
    "spec": {"displayName": "OK", "price": 100, "billingCycle": "monthly"},
}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"price": -1}, "negative price"),
        ({"price": 10_000_001}, "price above the cap"),
        ({"price": "990"}, "price as a string"),
        ({"billingCycle": "weekly"}, "unknown cycle"),
        ({"currency": "USD"}, "only TWD"),
        ({"displayName": ""}, "empty name"),
        ({"trialDays": 366}, "trial over a year"),
        ({"maxUsers": 0}, "zero seats"),
        ({"features": ["x" * 201]}, "feature too long"),
        ({"renewal": {"schedule": "every hour"}}, "malformed cron"),
        ({"renewal": {"graceDays": 91}}, "grace over 90 days"),
        ({"colour": "blue"}, "unknown field"),
    ],
)
def test_bad_plans_are_refused(
    validator: jsonschema.Draft7Validator, change: dict[str, Any], why: str
) -> None:
    plan = copy.deepcopy(GOOD)
    plan["spec"].update(change)
    assert list(validator.iter_errors(plan)), why


def test_missing_required_fields_and_bad_slug_are_refused(
    validator: jsonschema.Draft7Validator,
) -> None:
    assert not list(validator.iter_errors(GOOD))
    for field in ("displayName", "price", "billingCycle"):
        plan = copy.deepcopy(GOOD)
        del plan["spec"][field]
        assert list(validator.iter_errors(plan)), field
    plan = copy.deepcopy(GOOD)
    plan["metadata"]["name"] = "Pro_Monthly"
    assert list(validator.iter_errors(plan))
    plan["metadata"]["name"] = "a" * 40  # fluxus-renew-<slug> must fit a CronJob name
    assert list(validator.iter_errors(plan))


def test_nullable_limits_and_cron_macros_are_accepted(
    validator: jsonschema.Draft7Validator,
) -> None:
    plan = copy.deepcopy(GOOD)
    plan["spec"].update(maxUsers=None, maxStorageGb=None, renewal={"schedule": "@hourly"})
    assert not list(validator.iter_errors(plan))
    plan["spec"]["renewal"] = {"schedule": "*/15 0-6 * * MON-FRI"}
    assert not list(validator.iter_errors(plan))
