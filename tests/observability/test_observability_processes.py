"""`fluxus api` (gunicorn, several workers) and `fluxus ui` serve /metrics that promtool
accepts, on their own port, with the API's requests counted across its workers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.core.config import Settings
from tests.observability.conftest import (
    FLUXUS,
    Processes,
    fluxus_env,
    free_port,
    promtool_check_metrics,
    scrape,
    total,
    try_scrape,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def test_api_and_ui_processes_expose_valid_metrics(
    settings: Settings, processes: Processes, tmp_path: Path, promtool: str
) -> None:
    api_http, api_metrics, ui_http, ui_metrics = (free_port() for _ in range(4))
    (tmp_path / "api").mkdir()
    (tmp_path / "ui").mkdir()
    processes.start(
        [FLUXUS, "api", "--bind", f"127.0.0.1:{api_http}", "--workers", "2"],
        fluxus_env(settings, tmp_path / "api", FLUXUS_METRICS_PORT=str(api_metrics)),
        tmp_path / "api.log",
    )
    processes.start(
        [FLUXUS, "ui", "--port", str(ui_http)],
        fluxus_env(settings, tmp_path / "ui", FLUXUS_METRICS_PORT=str(ui_metrics),
                   FLUXUS_API_URL=f"http://127.0.0.1:{api_http}"),
        tmp_path / "ui.log",
    )
    for port in (api_metrics, ui_metrics):
        wait_for(lambda p=port: try_scrape(p) is not None, f"/metrics on {port}", 60)

    for _ in range(6):  # spread over both gunicorn workers
        assert httpx.get(f"http://127.0.0.1:{api_http}/api/plans/", timeout=10).status_code == 200

    api_text = scrape(api_metrics)
    assert total(api_text, "fluxus_http_requests_total", service="api",
                 endpoint="/api/plans/", method="GET", status="200") == 6
    for text in (api_text, scrape(ui_metrics)):
        checked = promtool_check_metrics(promtool, text)
        assert checked.returncode == 0, checked.stdout + checked.stderr
