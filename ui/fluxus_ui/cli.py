"""`fluxus ui`: serve the Panel dashboard (Bokeh server) with a /liveness endpoint."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import click


def serve(port: int, address: str, *, show_url: bool = True) -> None:
    import panel as pn

    from fluxus_ui.app import create_view
    from fluxus_ui.session import SessionCookieProvider
    from services.core.config import get_settings
    from services.core.metrics_runtime import start_metrics_server

    settings = get_settings()
    dashboard = urlsplit(settings.dashboard_url)
    def app() -> object:
        return create_view(settings.api_url, settings.public_payment_url,
                           settings.trusted_proxies)

    # Panel is not WSGI: the process metrics only (the API counts the requests it serves).
    start_metrics_server(settings.metrics_port)
    origins = {f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"}
    if dashboard.netloc:
        origins.add(dashboard.netloc)
    pn.serve(
        {"/": app, "/orders": app, "/orders/{order_id}": app},
        port=port, address=address, show=False, start=True, title="Fluxus",
        liveness=True, websocket_origin=sorted(origins),
        auth_provider=SessionCookieProvider(secure=dashboard.scheme == "https"),
        # The session token rendered into the page would otherwise carry every header.
        exclude_headers=["Cookie", "Authorization"],
        verbose=show_url,
    )


@click.command("ui")
@click.option("--port", type=int, default=5006, show_default=True, help="port to listen on")
@click.option("--address", default="127.0.0.1", show_default=True, help="address to bind")
def ui(port: int, address: str) -> None:
    """Serve the customer and staff dashboard (talks to the API at FLUXUS_API_URL)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve(port, address)
