"""Behind a load balancer that ends TLS (no `ingress.tls` in the chart), the dashboard's session
cookie is still `Secure` (issue #22.11): the chart's public URL is https unless told otherwise,
and the real UI server started with the URL the chart renders marks its cookie by that scheme."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest

from tests.chart.helpers import Render, Tools, helm_template, parse
from tests.support.ports import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

FLUXUS = Path(sys.executable).with_name("fluxus")


def _dashboard_url(tools: Tools, sets: list[str]) -> str:
    result = helm_template(tools, sets=sets)
    assert result.returncode == 0, result.stderr
    render = Render("custom", result.stdout, parse(result.stdout))
    (ui,) = [d for d in render.kind("Deployment")
             if d["metadata"]["labels"]["app.kubernetes.io/component"] == "ui"]
    (container,) = ui["spec"]["template"]["spec"]["containers"]
    (config,) = [s["configMapRef"]["name"] for s in container["envFrom"] if "configMapRef" in s]
    return render.one("ConfigMap", config)["data"]["FLUXUS_DASHBOARD_URL"]


@pytest.fixture
def start_ui(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(dashboard_url: str) -> str:
        port = free_port()
        env = {**os.environ, "FLUXUS_DASHBOARD_URL": dashboard_url,
               "FLUXUS_METRICS_PORT": str(free_port())}
        log = (tmp_path / f"ui-{port}.log").open("wb")
        process = subprocess.Popen(
            [str(FLUXUS), "ui", "--port", str(port), "--address", "127.0.0.1"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}/"

        def answers() -> bool:
            assert process.poll() is None, (tmp_path / f"ui-{port}.log").read_text()[-2000:]
            return httpx.get(url, timeout=5).status_code == 200

        wait_for(answers, f"the UI at {url}", timeout=90)
        return url

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize(
    ("sets", "secure"),
    [
        (["ingress.host=pay.example.tw"], True),  # TLS ends at the load balancer
        (["ingress.host=pay.example.tw", "ingress.publicScheme=http"], False),
    ],
)
def test_the_session_cookie_is_secure_whenever_the_public_url_is_https(
    tools: Tools, start_ui: Callable[[str], str], sets: list[str], secure: bool
) -> None:
    dashboard_url = _dashboard_url(tools, sets)
    assert dashboard_url.startswith("https://" if secure else "http://")
    response = httpx.get(start_ui(dashboard_url), timeout=10)
    cookie = SimpleCookie(response.headers["set-cookie"])["fluxus_sid"]
    assert bool(cookie["secure"]) is secure
    assert cookie["httponly"]
