"""Re-encrypt data at rest with the current data key (`fluxus keys rotate`): payment data
and webhook signing secrets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from services.core.config import Settings
from services.core.crypto import rotate_token
from services.core.db.models import Order, PaymentNotification, WebhookEndpoint

BATCH = 500


@dataclass(frozen=True)
class Rotated:
    orders: int
    notifications: int
    webhook_endpoints: int = 0


def rotate_data_keys(session: Session, settings: Settings) -> Rotated:
    """Rewrite every encrypted value with the first key of FLUXUS_DATA_ENCRYPTION_KEY (any
    listed key still decrypts), committing in batches so a long run keeps its progress.

    Sealed JSON columns are re-sealed by loading (decrypted with any key) and writing back
    (encrypted with the first); plaintext card and bank fields stored before they were
    sealed are encrypted on the way, and so are webhook secrets stored plain before 0007.
    """
    orders = _rotate(session, select(Order).where(
        or_(Order.payment_data.is_not(None), Order.payment_info.is_not(None))), _order(settings))
    notifications = _rotate(session, select(PaymentNotification), _notification)
    # Locked: a secret rotated through the API meanwhile must not be written back stale.
    endpoints = _rotate(session, select(WebhookEndpoint).with_for_update(), _endpoint)
    return Rotated(orders, notifications, endpoints)


def _order(settings: Settings) -> Callable[[Order], None]:
    def rewrite(order: Order) -> None:
        if order.payment_data:
            order.payment_data = rotate_token(order.payment_data, settings)
        if order.payment_info is not None:
            flag_modified(order, "payment_info")
    return rewrite


def _notification(note: PaymentNotification) -> None:
    # Loaded decrypted with any accepted key; written back sealed with the first.
    flag_modified(note, "raw")


def _endpoint(endpoint: WebhookEndpoint) -> None:
    flag_modified(endpoint, "secret")
    if endpoint.previous_secret is not None:
        flag_modified(endpoint, "previous_secret")


def _rotate(session: Session, query: Select[Any], rewrite: Callable[[Any], None]) -> int:
    done = 0
    last = None
    entity = query.column_descriptions[0]["entity"]
    while True:
        page = query.order_by(entity.id).limit(BATCH)
        if last is not None:
            page = page.where(entity.id > last)
        rows = list(session.scalars(page))
        if not rows:
            return done
        for row in rows:
            rewrite(row)
        session.commit()
        done += len(rows)
        last = rows[-1].id
