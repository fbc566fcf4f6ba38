"""Evaluate rendered NetworkPolicies and Ingress routing the way a cluster would (a model of
the Kubernetes semantics, enough for the chart's own policies)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.chart.helpers import NAMESPACE, Render


@dataclass(frozen=True)
class Pod:
    """A pod as policies see it: namespace (with its labels), pod labels, named ports."""

    labels: dict[str, str]
    namespace: str = NAMESPACE
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    wanted = selector.get("matchLabels") or {}
    if not wanted.items() <= labels.items():
        return False
    for expr in selector.get("matchExpressions") or []:
        value = labels.get(expr["key"])
        op = expr["operator"]
        if op == "In" and value not in expr["values"]:
            return False
        if op == "NotIn" and value in expr["values"]:
            return False
        if op == "Exists" and value is None:
            return False
        if op == "DoesNotExist" and value is not None:
            return False
    return True


def _peer_matches(peer: dict[str, Any], pod: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return False  # pods are addressed by selectors in these tests
    if "namespaceSelector" in peer:
        if not _matches(peer["namespaceSelector"], pod.namespace_labels):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return _matches(peer.get("podSelector"), pod.labels)


def _port_matches(rule_ports: list[dict[str, Any]] | None, port: int, target: Pod) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        wanted = p.get("port")
        if wanted is None or wanted == port:
            return True
        if isinstance(wanted, str) and target.ports.get(wanted) == port:
            return True
    return False


def _selecting(render: Render, pod: Pod, direction: str) -> list[dict[str, Any]]:
    return [
        p
        for p in render.kind("NetworkPolicy")
        if p["metadata"]["namespace"] == pod.namespace
        and _matches(p["spec"]["podSelector"], pod.labels)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]


def allowed(render: Render, src: Pod, dst: Pod, port: int) -> bool:
    """Whether a TCP connection src → dst:port passes both the egress and ingress policies."""
    egress = _selecting(render, src, "Egress")
    if egress and not any(
        any(
            _port_matches(rule.get("ports"), port, dst)
            and (
                not rule.get("to")
                or any(_peer_matches(peer, dst, p["metadata"]["namespace"]) for peer in rule["to"])
            )
            for rule in p["spec"].get("egress") or []
        )
        for p in egress
    ):
        return False
    ingress = _selecting(render, dst, "Ingress")
    return not ingress or any(
        any(
            _port_matches(rule.get("ports"), port, dst)
            and (
                not rule.get("from")
                or any(
                    _peer_matches(peer, src, p["metadata"]["namespace"]) for peer in rule["from"]
                )
            )
            for rule in p["spec"].get("ingress") or []
        )
        for p in ingress
    )


def route(render: Render, path: str) -> str | None:
    """The Service the chart's Ingress sends `path` to (longest Prefix match wins)."""
    best: tuple[int, str] | None = None
    for ingress in render.kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                prefix = p["path"].rstrip("/")
                hit = path == prefix or path.startswith(prefix + "/") or p["path"] == "/"
                if hit and (best is None or len(p["path"]) > best[0]):
                    best = (len(p["path"]), p["backend"]["service"]["name"])
    return best[1] if best else None


def pod_of(deployment: dict[str, Any]) -> Pod:
    template = deployment["spec"]["template"]
    ports = {
        port["name"]: port["containerPort"]
        for container in template["spec"]["containers"]
        for port in container.get("ports", [])
    }
    return Pod(dict(template["metadata"]["labels"]), deployment["metadata"]["namespace"], ports)
