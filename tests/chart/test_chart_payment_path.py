"""The dashboard's payment path in production: UI server → payment Service (both
NetworkPolicies allow it), and invoices (PDF included) routed by the Ingress (issue #22.1)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from services.core.usecases.invoice_pdf import PDF_URL_TEMPLATE
from tests.chart.helpers import REPO, Render, Tools, helm_template, parse
from tests.chart.netpol import Pod, allowed, pod_of, route

pytestmark = pytest.mark.integration

PRODUCTION_VALUES = REPO / "k8s" / "production" / "values-production.yaml"
INGRESS_CONTROLLER = Pod({"app.kubernetes.io/name": "ingress-nginx"}, namespace="ingress-nginx")


@pytest.fixture(scope="module")
def production(tools: Tools) -> Render:
    result = helm_template(tools, [PRODUCTION_VALUES])
    assert result.returncode == 0, result.stderr
    return Render("production", result.stdout, parse(result.stdout))


def _deployment(r: Render, component: str) -> dict:
    (found,) = [
        d
        for d in r.kind("Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    return found


def test_dashboard_reaches_payment_service_through_both_policies(production: Render) -> None:
    ui = _deployment(production, "ui")
    container = ui["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    url = urlsplit(env["FLUXUS_PUBLIC_PAYMENT_URL"])
    service_name, namespace = url.hostname.split(".")[:2]
    service = production.one("Service", service_name)
    assert service["metadata"]["namespace"] == namespace
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == url.port]
    payment = _deployment(production, "payment")
    payment_pod = pod_of(payment)
    # The Service selects the payment pods and forwards to their http port.
    assert service["spec"]["selector"].items() <= payment_pod.labels.items()
    target = payment_pod.ports[port["targetPort"]]

    assert allowed(production, pod_of(ui), payment_pod, target)
    # The API path the dashboard already had still works, and nothing else opened up.
    api = _deployment(production, "api")
    assert allowed(production, pod_of(ui), pod_of(api), pod_of(api).ports["http"])
    worker = next(
        d
        for d in production.kind("Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    )
    assert not allowed(production, pod_of(ui), pod_of(worker), 9100)
    assert not allowed(production, pod_of(ui), payment_pod, payment_pod.ports["metrics"])


def test_invoices_and_their_pdfs_are_routed_to_the_payment_service(production: Render) -> None:
    payment = _deployment(production, "payment")
    ui = _deployment(production, "ui")
    order = "0b0c3c8e-8d1e-4b55-9f7a-3b1c7d2c1a10"
    for path in (
        f"/payment/invoice/{order}/",
        PDF_URL_TEMPLATE.format(order_id=order),
        "/payment/ecpay/notify/",
    ):
        assert route(production, path) == payment["metadata"]["name"], path
    # Health and test endpoints of the payment service stay private; the rest is the UI.
    assert route(production, "/payment/health/ready") == ui["metadata"]["name"]
    assert route(production, "/") == ui["metadata"]["name"]
    # The ingress controller is allowed through the payment pods' policy.
    payment_pod = pod_of(payment)
    assert allowed(production, INGRESS_CONTROLLER, payment_pod, payment_pod.ports["http"])
