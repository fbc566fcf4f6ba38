"""A ValidatingAdmissionPolicy evaluated as the API server does, with a real CEL interpreter
(cel-python): match conditions, then variables, then each validation; with
`failurePolicy: Fail` an expression that errors denies, as a false one does.

Kubernetes' CEL environment (k8s.io/apiserver/pkg/cel/library) adds functions to standard CEL;
the chart's policy uses only standard CEL — `size`, `has`, the `all` macro, `==`, `&&`, `||`,
`!`, list indexing — which cel-python implements, so no extension is stood in here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import celpy
from celpy import celtypes


@dataclass
class Verdict:
    applies: bool
    denied: list[str] = field(default_factory=list)

    @property
    def admitted(self) -> bool:
        return not self.denied


def _evaluate(expression: str, activation: dict[str, Any]) -> Any:
    """The expression's value, or the CELEvalError it ended in (a missing field, say)."""
    env = celpy.Environment()
    program = env.program(env.compile(expression))  # a syntax error raises: a broken chart
    try:
        return program.evaluate(activation)
    except celpy.CELEvalError as error:
        return error


def _is_true(value: Any) -> bool:
    return isinstance(value, celtypes.BoolType) and bool(value)


def review(policy: dict[str, Any], obj: dict[str, Any], username: str,
           operation: str = "CREATE") -> Verdict:
    """What the API server decides about `obj` (a CronJob) sent by `username`."""
    spec = policy["spec"]
    activation: dict[str, Any] = {
        "object": celpy.json_to_cel(obj),
        "request": celpy.json_to_cel(
            {"operation": operation, "userInfo": {"username": username},
             "kind": {"group": "batch", "version": "v1", "kind": "CronJob"}}
        ),
    }
    fail_closed = spec.get("failurePolicy", "Fail") == "Fail"
    for condition in spec.get("matchConditions", []):
        result = _evaluate(condition["expression"], activation)
        if not isinstance(result, celtypes.BoolType):
            if fail_closed:
                return Verdict(True, [f"match condition {condition['name']} errored: {result}"])
            return Verdict(False)
        if not result:
            return Verdict(False)
    # Each variable sees the ones before it, as in the API server.
    variables = celtypes.MapType()
    for variable in spec.get("variables", []):
        value = _evaluate(variable["expression"], {**activation, "variables": variables})
        variables[celtypes.StringType(variable["name"])] = value
    activation["variables"] = variables
    denied = []
    for validation in spec["validations"]:
        result = _evaluate(validation["expression"], activation)
        if not _is_true(result) and (fail_closed or isinstance(result, celtypes.BoolType)):
            denied.append(validation.get("message", validation["expression"]))
    return Verdict(True, denied)
