"""Flask app factory of the ECPay simulator."""

from __future__ import annotations

import httpx
from flask import Flask

from services.core.clock import Clock
from services.ecpay.simulator import (
    console,
    control,
    credit_detail,
    einvoice,
    einvoice_console,
    einvoice_control,
    gateway,
)
from services.ecpay.simulator.card_ledger import CardLedger
from services.ecpay.simulator.einvoice_ops import EInvoiceSim
from services.ecpay.simulator.engine import SimConfig, Simulator


def create_app(
    config: SimConfig | None = None,
    *,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
    start_notifier: bool = True,
) -> Flask:
    """The simulator app; its notifier thread runs until ``app.extensions[...].notifier.stop()``."""
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    simulator = Simulator(config or SimConfig(), clock=clock, transport=transport)
    app.extensions["ecpay_simulator"] = simulator
    # The e-invoice account shares the simulator's calendar (void cut-offs follow it).
    app.extensions[einvoice.EXTENSION] = EInvoiceSim(
        simulator.config.einvoice, simulator.clock, transport
    )
    app.extensions[credit_detail.EXTENSION] = CardLedger(simulator)
    app.register_blueprint(gateway.bp)
    app.register_blueprint(credit_detail.bp)
    app.register_blueprint(credit_detail.control_bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(einvoice.bp)
    app.register_blueprint(einvoice_control.bp)
    app.register_blueprint(einvoice_console.bp)
    if start_notifier:
        simulator.notifier.start()
    return app


def simulator_of(app: Flask) -> Simulator:
    simulator: Simulator = app.extensions["ecpay_simulator"]
    return simulator
