"""How big a run is: the full benchmark, or --quick for a smoke run of seconds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    connections: int = 16  # concurrent loopback connections for every HTTP figure
    api_workers: int = 2  # gunicorn workers of the API, the floor app and the payment service
    rq_workers: int = 2  # `fluxus worker` processes draining the queues
    api_seconds: float = 20.0  # per endpoint
    api_max_requests: int = 200_000
    order_subscriptions: int = 20_000  # pending subscriptions, one POST /api/orders/ each
    notifications: int = 2_000
    webhook_seconds: float = 30.0
    one_at_a_time: int = 30  # notifications posted each after the previous was processed
    drain_seconds: float = 300.0  # bound on waiting for workers to finish a queue
    renewal_drain_seconds: float = 180.0  # bound on the renewal job phase
    renewals: int = 100_000
    renewal_batch: int = 500  # `fluxus renew --batch-size` (its default)
    invoice_pdfs: int = 400  # render_invoice_pdf jobs for one inline worker

    @classmethod
    def make(cls, quick: bool, renewals: int | None = None) -> BenchConfig:
        if quick:
            return cls(quick=True, api_seconds=3.0, api_max_requests=20_000,
                       order_subscriptions=2_000, notifications=100, webhook_seconds=5.0,
                       one_at_a_time=5,
                       drain_seconds=20.0, renewal_drain_seconds=10.0,
                       renewals=renewals or 1_000, invoice_pdfs=40)
        return cls(quick=False, renewals=renewals or 100_000)
