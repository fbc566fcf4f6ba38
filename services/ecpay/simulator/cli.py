"""`fluxus ecpay-sim`: serve the simulator (one process: its state lives in memory)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
from werkzeug.serving import make_server

from services.core.config import (
    EINVOICE_STAGE_HASH_IV,
    EINVOICE_STAGE_HASH_KEY,
    EINVOICE_STAGE_MERCHANT_ID,
    SIM_CREDIT_CHECK_CODE,
    STAGE_HASH_IV,
    STAGE_HASH_KEY,
    STAGE_MERCHANT_ID,
)
from services.ecpay.simulator.app import create_app, simulator_of
from services.ecpay.simulator.einvoice_store import (
    DEFAULT_BARCODES,
    DEFAULT_LOVE_CODES,
    DEFAULT_RANGE,
    DEFAULT_TRACK,
    EInvoiceSimConfig,
)
from services.ecpay.simulator.engine import DEFAULT_BARCODE_RESULT_DELAY, SimConfig
from services.ecpay.simulator.notifier import DEFAULT_MAX_DELIVERIES, DEFAULT_RETRY_INTERVAL


def _parse_range(text: str) -> tuple[int, int]:
    first, sep, last = text.partition("-")
    if not sep or not first.isdigit() or not last.isdigit() or len(first) != 8 or len(last) != 8:
        raise click.BadParameter("use FIRST-LAST with 8 digits each, e.g. 10000000-10000099")
    if int(first) > int(last):
        raise click.BadParameter("the range's first number is above its last")
    return int(first), int(last)


def _parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise click.BadParameter("use HOST:PORT, e.g. 127.0.0.1:8002 (port 0 picks a free one)")
    return host.strip("[]"), int(port)


@click.command("ecpay-sim")
@click.option("--bind", default="127.0.0.1:8002", show_default=True, help="HOST:PORT to listen on")
@click.option("--merchant-id", default=STAGE_MERCHANT_ID, show_default=True)
@click.option("--hash-key", default=STAGE_HASH_KEY, show_default=True)
@click.option("--hash-iv", default=STAGE_HASH_IV, show_default=True)
@click.option(
    "--credit-check-code",
    default=SIM_CREDIT_CHECK_CODE,
    show_default=True,
    help="the merchant's card check code CreditDetail/QueryTrade requires",
)
@click.option(
    "--retry-interval",
    type=click.FloatRange(min=0.01),
    show_default=True,
    default=DEFAULT_RETRY_INTERVAL,
    help="seconds between re-sends of an unanswered notification (ECPay: about every 5-15 minutes)",
)
@click.option(
    "--max-deliveries",
    type=click.IntRange(min=1),
    show_default=True,
    default=DEFAULT_MAX_DELIVERIES,
    help="deliveries per notification, the first included (ECPay: 1 + 4 re-sends)",
)
@click.option(
    "--barcode-result-delay",
    type=click.FloatRange(min=0),
    show_default=True,
    default=DEFAULT_BARCODE_RESULT_DELAY,
    help="seconds of the simulator clock between a BARCODE payment and its ReturnURL post "
    "(ECPay: about two days)",
)
@click.option("--einvoice-merchant-id", default=EINVOICE_STAGE_MERCHANT_ID, show_default=True)
@click.option("--einvoice-hash-key", default=EINVOICE_STAGE_HASH_KEY, show_default=True)
@click.option("--einvoice-hash-iv", default=EINVOICE_STAGE_HASH_IV, show_default=True)
@click.option(
    "--einvoice-track",
    default=DEFAULT_TRACK,
    show_default=True,
    help="the two capital letters (字軌) of the issued invoice numbers",
)
@click.option(
    "--einvoice-range",
    default=f"{DEFAULT_RANGE[0]}-{DEFAULT_RANGE[1]}",
    show_default=True,
    help="FIRST-LAST invoice numbers; when used up, Issue answers 1100040",
)
@click.option(
    "--einvoice-barcode",
    "barcodes",
    multiple=True,
    help="a mobile barcode CheckBarcode knows (repeatable; default: "
    + ", ".join(sorted(DEFAULT_BARCODES))
    + ")",
)
@click.option(
    "--einvoice-love-code",
    "love_codes",
    multiple=True,
    help="a love code CheckLoveCode knows (repeatable; default: "
    + ", ".join(sorted(DEFAULT_LOVE_CODES))
    + ")",
)
def ecpay_sim(
    bind: str,
    merchant_id: str,
    hash_key: str,
    hash_iv: str,
    credit_check_code: str,
    retry_interval: float,
    max_deliveries: int,
    barcode_result_delay: float,
    einvoice_merchant_id: str,
    einvoice_hash_key: str,
    einvoice_hash_iv: str,
    einvoice_track: str,
    einvoice_range: str,
    barcodes: tuple[str, ...],
    love_codes: tuple[str, ...],
) -> None:
    """A local stand-in for ECPay's stage gateway (checkout, notifications, queries)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    host, port = _parse_bind(bind)
    if len(einvoice_track) != 2 or not einvoice_track.isalpha() or not einvoice_track.isupper():
        raise click.BadParameter("two capital letters", param_hint="--einvoice-track")
    first, last = _parse_range(einvoice_range)
    einvoice = EInvoiceSimConfig(
        einvoice_merchant_id,
        einvoice_hash_key,
        einvoice_hash_iv,
        einvoice_track,
        first,
        last,
        frozenset(barcodes) or DEFAULT_BARCODES,
        frozenset(love_codes) or DEFAULT_LOVE_CODES,
    )
    config = SimConfig(
        merchant_id,
        hash_key,
        hash_iv,
        retry_interval,
        max_deliveries,
        barcode_result_delay=barcode_result_delay,
        credit_check_code=credit_check_code,
        einvoice=einvoice,
    )
    app = create_app(config)
    server = make_server(host, port, app, threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, so it cannot run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"ECPay simulator listening on http://{host}:{server.server_port}", color=False)
    try:
        server.serve_forever()
    finally:
        simulator_of(app).notifier.stop()
        server.server_close()
        click.echo("ECPay simulator stopped")
