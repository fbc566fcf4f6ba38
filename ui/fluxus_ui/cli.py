"""`fluxus ui`: serve the Panel dashboard (Bokeh server) with a /liveness endpoint."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import click


def serve(port: int, address: str, *, show_url: bool = True) -> None:
    import panel as pn

    from fluxus_ui.app import create_view
    from fluxus_ui.routes import SERVED
    from fluxus_ui.server import (
        headers_transform,
        nested_static_routes,
        security_headers,
        session_routes,
    )
    from fluxus_ui.session import COOKIE_NAME, SessionCookieProvider
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
    secure = dashboard.scheme == "https"
    server = pn.serve(
        dict.fromkeys(SERVED, app),
        port=port, address=address, show=False, start=False, title="Fluxus",
        liveness=True, websocket_origin=sorted(origins),
        auth_provider=SessionCookieProvider(secure=secure),
        # The session token rendered into the page would otherwise carry every header and
        # any cookie a browser sends; it carries only the signed session id.
        exclude_headers=["Cookie", "Authorization"], include_cookies=[COOKIE_NAME],
        extra_patterns=session_routes(secure),
        verbose=show_url,
    )
    server._tornado.transforms.append(
        headers_transform(security_headers(settings.ecpay_gateway_url)))
    server._tornado.add_handlers(r".*", nested_static_routes())
    server.start()
    server.io_loop.start()


@click.command("ui")
@click.option("--port", type=int, default=5006, show_default=True, help="port to listen on")
@click.option("--address", default="127.0.0.1", show_default=True, help="address to bind")
def ui(port: int, address: str) -> None:
    """Serve the customer and staff dashboard (talks to the API at FLUXUS_API_URL)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve(port, address)
