"""Send one recorded e-mail (never twice once it is sent); re-enqueue the ones left pending."""

# Delivery guarantee. The send job locks the delivery row (SELECT … FOR UPDATE), skips it when
# already sent, talks to SMTP while holding the lock, and marks it sent in the same transaction,
# committed right after the server accepted the message. A duplicate job waits on the lock and
# then sees `sent`. The one window left is a crash (or a lost database connection) between the
# server's "250 OK" and our COMMIT: the row stays pending and the retry sends the message again.
# We chose at-least-once for that window over at-most-once (commit "sending" before talking to
# SMTP), because a lost payment confirmation is worse than a rare duplicate; the Message-ID is
# derived from the delivery id, so mail systems that dedupe by Message-ID fold that duplicate.

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings
from services.core.db.models import (
    EInvoice,
    EmailDelivery,
    Invoice,
    Order,
    Plan,
    Subscription,
    User,
)
from services.core.domain.periods import TAIPEI
from services.core.domain.plan_text import localized
from services.core.ports import Jobs
from services.core.usecases import auth, email_templates
from services.core.usecases.invoice_pdf import render_invoice_pdf

STUCK_AFTER = timedelta(minutes=5)


class Mailer(Protocol):
    """Hands a message to a mail server; raises (smtplib.SMTPException, OSError) on failure."""

    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # sent | already_sent | retry | failed
    error: str | None = None


def _money(value: Any) -> str:
    return f"NT${Decimal(value):,.0f}"


def _day(moment: datetime | None) -> str:
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%d") if moment else ""


def _payment_codes(info: dict[str, Any] | None) -> dict[str, str]:
    info = info or {}
    names = {
        "bank_code": "BankCode",
        "v_account": "vAccount",
        "payment_no": "PaymentNo",
        "barcode1": "Barcode1",
        "barcode2": "Barcode2",
        "barcode3": "Barcode3",
        "expire_date": "ExpireDate",
    }
    return {key: str(info.get(field) or info.get(key) or "") for key, field in names.items()}


def _order_values(session: Session, order: Order, settings: Settings) -> dict[str, Any]:
    plan = session.get(Plan, order.plan_id)
    values: dict[str, Any] = {
        "order_number": order.order_number,
        "amount": _money(order.amount),
        "plan_name": plan.name if plan else "",
        "_plan_id": order.plan_id,
        "period_start": _day(order.period_start),
        "period_end": _day(order.period_end),
        "pay_url": f"{settings.dashboard_url}/orders/{order.id}",
        "reason": order.failure_reason or "",
        **_payment_codes(order.payment_info),
    }
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order.id)).first()
    if invoice is not None:
        values |= {
            "invoice_id": str(invoice.id),
            "invoice_number": invoice.invoice_number,
            "invoice_net": _money(invoice.amount),
            "invoice_tax": _money(invoice.tax_amount),
            "invoice_total": _money(invoice.total_amount),
        }
        if invoice.einvoice is not None:
            values |= einvoice_values(invoice.einvoice)
    return values


def einvoice_values(einvoice: EInvoice) -> dict[str, Any]:
    """The uniform invoice as the e-mails print it (number, date, random number, carrier)."""
    if einvoice.status == "pending":
        return {"einvoice_pending": True}
    if einvoice.status == "not_issued" and einvoice.reason == "einvoicing_disabled":
        return {"einvoice_elsewhere": True}
    if einvoice.status != "issued":
        return {}
    buyer = einvoice.buyer
    zh, en = "", ""
    if buyer.get("donation"):
        zh, en = (
            f"，已捐贈（愛心碼 {buyer.get('love_code')}）",
            f", donated (code {buyer.get('love_code')})",
        )
    elif buyer.get("carrier_type") == "3":
        zh, en = (
            f"，存入手機條碼 {buyer.get('carrier_num')}",
            f", in mobile barcode {buyer.get('carrier_num')}",
        )
    elif buyer.get("carrier_type") == "2":
        zh, en = "，存入自然人憑證載具", ", in your citizen certificate carrier"
    elif buyer.get("carrier_type") == "1":
        zh, en = "，存入綠界會員載具", ", in your ECPay member carrier"
    if buyer.get("customer_identifier"):
        zh += f"，買方統編 {buyer['customer_identifier']}"
        en += f", buyer tax ID {buyer['customer_identifier']}"
    return {
        "einvoice_number": einvoice.display_number,
        "einvoice_date": _day(einvoice.invoice_date),
        "einvoice_random": einvoice.random_number,
        "einvoice_delivery_zh": zh,
        "einvoice_delivery_en": en,
    }


def _subscription_values(session: Session, sub: Subscription, settings: Settings) -> dict:
    plan = session.get(Plan, sub.plan_id)
    values: dict[str, Any] = {
        "plan_name": plan.name if plan else "",
        "_plan_id": sub.plan_id,
        "end_date": _day(sub.end_date),
    }
    if plan is not None:
        values.setdefault("amount", _money(plan.price))
        if sub.end_date is not None:
            values["grace_until"] = _day(sub.end_date + timedelta(days=plan.grace_days))
    values.setdefault("pay_url", f"{settings.dashboard_url}/subscriptions/{sub.id}")
    return values


def template_values(
    session: Session, delivery: EmailDelivery, user: User | None, settings: Settings
) -> dict[str, Any]:
    """What a template sees: common values, then rows named by the context, then the context."""
    context = dict(delivery.context or {})
    values: dict[str, Any] = {
        "name": (user.first_name or user.username) if user else delivery.recipient,
        "email": delivery.recipient,
        "seller_name": settings.seller_name,
        "dashboard_url": settings.dashboard_url,
    }
    if context.get("subscription_id"):
        sub = session.get(Subscription, uuid.UUID(str(context["subscription_id"])))
        if sub is not None:
            values |= _subscription_values(session, sub, settings)
    if context.get("order_id"):
        order = session.get(Order, uuid.UUID(str(context["order_id"])))
        if order is not None:
            values |= _order_values(session, order, settings)
    values |= {k: v for k, v in context.items() if v not in (None, "")}
    values |= _payment_codes(context.get("payment_info")) if context.get("payment_info") else {}
    return _plan_name_in(session, values, user)


def _plan_name_in(session: Session, values: dict[str, Any], user: User | None) -> dict[str, Any]:
    """The plan's name in the recipient's language (the Plan resource's translation)."""
    plan = session.get(Plan, values.pop("_plan_id")) if values.get("_plan_id") else None
    if plan is not None and user is not None:
        values["plan_name"] = localized(plan.name, plan.description, plan.features,
                                        plan.translations, user.language).name
    return values


def link_values(session: Session, clock: Clock, delivery: EmailDelivery,
                user: User | None) -> dict[str, Any]:
    """The single-use link of an account e-mail, minted now: the delivery row only ever holds
    the link without its token (a database reader must not be able to reset a password)."""
    base = (delivery.context or {}).get("link_base")
    if not base or user is None or delivery.template not in auth.TOKEN_LIFETIMES:
        return {}
    return {"link": auth.mint_link(session, clock, user, delivery.template, str(base))}


def build_message(
    delivery: EmailDelivery,
    rendered: email_templates.RenderedEmail,
    settings: Settings,
    now: datetime,
    attachment: Path | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = delivery.recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    # Stable per delivery, so a duplicate from the crash window shares the original's id.
    message["Message-ID"] = f"<{delivery.id}@fluxus.mail>"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    if attachment is not None:
        message.add_attachment(
            attachment.read_bytes(),
            maintype="application",
            subtype="pdf",
            filename=attachment.name,
        )
    return message


def _invoice_attachment(session: Session, values: dict[str, Any], settings: Settings) -> Path:
    return render_invoice_pdf(
        session,
        invoice_id=uuid.UUID(values["invoice_id"]),
        invoice_dir=settings.invoice_path,
        seller_name=settings.seller_name,
        seller_tax_id=settings.seller_tax_id,
    )


def deliver_email(
    session: Session,
    clock: Clock,
    mailer: Mailer,
    settings: Settings,
    *,
    delivery_id: uuid.UUID,
    give_up: bool = False,
) -> DeliveryOutcome:
    """Send delivery `delivery_id` unless it was sent; see the module docstring."""
    delivery = session.scalars(
        select(EmailDelivery).where(EmailDelivery.id == delivery_id).with_for_update()
    ).one_or_none()
    if delivery is None or delivery.status in ("sent", "failed"):
        return DeliveryOutcome("already_sent" if delivery else "failed", None)
    user = session.get(User, delivery.user_id) if delivery.user_id else None
    values = template_values(session, delivery, user, settings)
    values |= link_values(session, clock, delivery, user)
    attachment = None
    if delivery.template == "payment_confirmation" and values.get("invoice_id"):
        attachment = _invoice_attachment(session, values, settings)
        values["attached"] = True
    try:
        rendered = email_templates.render(
            delivery.template, user.language if user else "zh-TW", values
        )
    except (ValueError, KeyError) as exc:
        # A template without its values will not get better by retrying: park it as failed.
        delivery.status, delivery.last_error = "failed", f"cannot render: {exc}"[:500]
        return DeliveryOutcome("failed", delivery.last_error)
    now = clock.now()
    delivery.attempts += 1
    try:
        mailer.send(build_message(delivery, rendered, settings, now, attachment))
    except (smtplib.SMTPException, OSError) as exc:
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:500]
        delivery.status = "failed" if give_up else "pending"
        return DeliveryOutcome("failed" if give_up else "retry", delivery.last_error)
    delivery.status = "sent"
    delivery.sent_at = now
    delivery.last_error = None
    return DeliveryOutcome("sent")


def sweep_stuck_deliveries(session: Session, clock: Clock, jobs: Jobs, *, limit: int = 500) -> int:
    """Re-enqueue deliveries still pending after STUCK_AFTER (Redis was down when queued).

    The job id is the one queue_email uses, so a delivery whose job is still waiting or
    scheduled for a retry is not enqueued twice; the row lock in deliver_email is the guard.
    """
    cutoff = clock.now() - STUCK_AFTER
    ids = session.scalars(
        select(EmailDelivery.id)
        .where(EmailDelivery.status == "pending", EmailDelivery.created_at <= cutoff)
        .order_by(EmailDelivery.created_at)
        .limit(limit)
    ).all()
    for delivery_id in ids:
        jobs.enqueue("send_email", str(delivery_id), job_id=f"email-{delivery_id}")
    return len(ids)
