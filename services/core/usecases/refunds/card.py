"""The card refund saga: requested → sent → succeeded | failed, through ECPay's DoAction.

ECPay's QueryTrade is keyed by the card authorization (gwsr and amount, kept from ReturnURL:
see `authorization`). An order paid before Fluxus asked for it has none: its refund fails at
once with a message to refund it by transfer (nothing is guessed).

Two transactions per run. `start` marks the refund sent and books its next attempt before
anything goes to ECPay, so a worker killed mid-call leaves a row the sweep picks up again.
`send` then holds the order's row lock (refunds of one order go one at a time), asks ECPay
for the trade's state, and — unless ECPay already shows this money back (an answer lost last
time) — makes the calls the state allows: N, E then N, or R. Never during ECPay's capture
window (20:15–20:30 Taipei): the refund waits until it is over.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings
from services.core.db.models import Order, Refund
from services.core.ports import Jobs
from services.core.usecases.refunds import settle
from services.core.usecases.refunds.authorization import CardAuthorization, card_authorization
from services.core.usecases.refunds.states import IN_FLIGHT, RefundMethod, RefundStatus
from services.ecpay.credit_detail import (
    ACTION_REFUND,
    CardTrade,
    CreditDetailBadAnswer,
    CreditDetailClient,
    CreditDetailRefused,
    CreditDetailUnavailable,
    capture_window_end,
    in_capture_window,
    plan_refund,
)

# Seconds before the n-th retry after ECPay could not be reached; the last one repeats.
BACKOFF = (60, 300, 900, 1800, 3600, 7200)
# After this many unanswered tries (about half a day) the refund says it needs a person; it
# is still asked every BACKOFF[-1] seconds, never failed on silence (see _transient).
MAX_ATTEMPTS = 10
WAITING_FOR = "waiting for the earlier refund"
NO_AUTHORIZATION = (
    "This card payment has no card authorization (gwsr) on record: it was paid before Fluxus"
    " kept it, and ECPay can only be asked about a card refund by it. Refund it by bank"
    " transfer instead."
)


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    RECOVERED = "recovered"  # ECPay had done it; the answer was lost
    RETRY = "retry"
    FAILED = "failed"
    WINDOW = "capture_window"  # waiting for ECPay's capture batch to finish
    NOT_DUE = "not_due"
    NOT_PENDING = "not_pending"
    BUSY = "busy"  # another worker holds it


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1])


def _lock(session: Session, refund_id: uuid.UUID) -> Refund | None:
    return session.scalars(
        select(Refund).where(Refund.id == refund_id).with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).one_or_none()


def _wait_for_window(clock: Clock, refund: Refund) -> Outcome | None:
    if not in_capture_window(clock.now()):
        return None
    refund.next_attempt_at = capture_window_end(clock.now())
    return Outcome.WINDOW


def start(session: Session, clock: Clock, refund_id: uuid.UUID) -> Outcome | None:
    """Mark the refund sent (commit before calling ECPay); None means go on with `send`."""
    refund = _lock(session, refund_id)
    if refund is None:
        return Outcome.BUSY
    if refund.method != RefundMethod.CARD.value or refund.status not in IN_FLIGHT:
        return Outcome.NOT_PENDING
    if refund.next_attempt_at is not None and refund.next_attempt_at > clock.now():
        return Outcome.NOT_DUE
    waiting = _wait_for_window(clock, refund)
    if waiting is not None:
        return waiting
    refund.status, refund.sent_at = RefundStatus.SENT.value, clock.now()
    refund.attempts += 1
    refund.next_attempt_at = clock.now() + backoff(refund.attempts)
    return None


def _known_back(session: Session, refund: Refund) -> Decimal:
    """What Fluxus has recorded as given back on the same ECPay trade (other refunds)."""
    total = session.scalar(select(func.coalesce(func.sum(Refund.amount), 0)).where(
        Refund.merchant_trade_no == refund.merchant_trade_no, Refund.trade_no == refund.trade_no,
        Refund.id != refund.id,
        Refund.method == RefundMethod.CARD.value,
        Refund.status == RefundStatus.SUCCEEDED.value))
    return Decimal(total or 0)


def _older_in_flight(session: Session, refund: Refund) -> uuid.UUID | None:
    """The oldest refund of the same trade still in flight before this one, if any."""
    older = or_(Refund.created_at < refund.created_at,
                and_(Refund.created_at == refund.created_at, Refund.id < refund.id))
    return session.scalar(select(Refund.id).where(
        Refund.merchant_trade_no == refund.merchant_trade_no, Refund.trade_no == refund.trade_no,
        Refund.id != refund.id,
        Refund.status.in_(IN_FLIGHT), older).order_by(Refund.created_at, Refund.id).limit(1))


def _call(gateway: CreditDetailClient, refund: Refund, trade: CardTrade) -> None:
    calls: list[dict[str, Any]] = list(refund.gateway_actions.get("calls", []))
    try:
        for action in plan_refund(trade, int(refund.amount)):
            amount = int(refund.amount) if action == ACTION_REFUND else trade.amount
            try:
                answer = gateway.do_action(refund.merchant_trade_no, refund.trade_no, action,
                                           amount)
            except CreditDetailRefused as exc:
                calls.append({"action": action, "amount": amount, "rtn_code": exc.rtn_code,
                              "rtn_msg": exc.rtn_msg})
                raise
            calls.append({"action": action, "amount": amount, "rtn_code": "1",
                          "rtn_msg": answer.get("RtnMsg", "")})
    finally:
        refund.gateway_actions = {"calls": calls}


def _transient(clock: Clock, refund: Refund, message: str) -> Outcome:
    """No answer from ECPay: ask again later, never fail. A DoAction whose answer was lost
    (or whose worker died) may have given the money back, and a failed refund frees its
    amount for staff to refund again: silence must not end a refund. Past MAX_ATTEMPTS it
    keeps asking at the longest back-off (QueryTrade settles it once ECPay answers), and
    says it needs a person; the books and the oldest-in-flight alert show it meanwhile."""
    if refund.attempts >= MAX_ATTEMPTS:
        message = (f"ECPay did not answer {refund.attempts} times; still asking every "
                   f"{BACKOFF[-1] // 3600} h. A request may have gone through: check the "
                   f"trade in ECPay's vendor dashboard. Last: {message}")
    refund.last_error = message[:500]
    refund.next_attempt_at = clock.now() + backoff(refund.attempts)
    return Outcome.RETRY


def send(session: Session, clock: Clock, gateway: CreditDetailClient, jobs: Jobs,
         refund_id: uuid.UUID, settings: Settings | None = None) -> Outcome:
    """Give the money back at ECPay and record the answer (see the module docstring)."""
    found = session.get(Refund, refund_id)
    if found is None:
        return Outcome.NOT_PENDING
    order = session.get_one(Order, found.order_id, with_for_update=True)
    refund = _lock(session, refund_id)
    if refund is None:
        return Outcome.BUSY
    if refund.status != RefundStatus.SENT.value:
        return Outcome.NOT_PENDING
    waiting = _wait_for_window(clock, refund)
    if waiting is not None:
        return waiting
    if (earlier := _older_in_flight(session, refund)) is not None:
        # Refunds of one trade go oldest first: an earlier one's answer may be lost, and
        # until it settles ECPay's total cannot tell whose money went back. Said on the
        # refund, so whoever finds it still in flight sees which one to settle first.
        refund.attempts -= 1
        refund.next_attempt_at = clock.now() + backoff(1)
        refund.last_error = f"{WAITING_FOR} {earlier} of the same payment to settle"
        return Outcome.RETRY
    if refund.last_error.startswith(WAITING_FOR):
        refund.last_error = ""  # no longer waiting; what happens next says its own
    authorization = card_authorization(session, order, refund, settings)
    if authorization is None:
        settle.failed(session, clock, refund, NO_AUTHORIZATION)
        return Outcome.FAILED
    outcome, message = _ask(session, clock, gateway, refund, authorization)
    if outcome in (Outcome.SUCCEEDED, Outcome.RECOVERED):
        refund.last_error = ""
        settle.money_back(session, clock, jobs, order, refund, RefundStatus.SUCCEEDED)
    elif outcome is Outcome.FAILED:
        settle.failed(session, clock, refund, message)
    return outcome


def _ask(session: Session, clock: Clock, gateway: CreditDetailClient, refund: Refund,
         authorization: CardAuthorization) -> tuple[Outcome, str]:
    try:
        trade = gateway.query_trade(authorization.gwsr, authorization.amount)
        known = _known_back(session, refund)
        if trade.money_back >= known + refund.amount:
            return Outcome.RECOVERED, ""
        if trade.money_back > known:
            return Outcome.FAILED, (
                f"ECPay shows NT${trade.money_back} given back on {refund.merchant_trade_no}, "
                f"Fluxus recorded NT${known}: compare in ECPay's vendor dashboard")
        _call(gateway, refund, trade)
    except ValueError as exc:  # plan_refund: ECPay offers no way to do it
        return Outcome.FAILED, f"ECPay cannot refund this card trade: {exc}"
    except CreditDetailRefused as exc:
        return Outcome.FAILED, f"ECPay refused {exc.action}: {exc.rtn_code} {exc.rtn_msg}"
    except (CreditDetailUnavailable, CreditDetailBadAnswer) as exc:
        return _transient(clock, refund, str(exc)), ""
    return Outcome.SUCCEEDED, ""


def due(session: Session, clock: Clock, limit: int = 200) -> list[uuid.UUID]:
    """Card refunds whose next attempt has come (lost jobs, retries, after the window)."""
    return list(session.scalars(
        select(Refund.id).where(Refund.method == RefundMethod.CARD.value,
                                Refund.status.in_(IN_FLIGHT),
                                Refund.next_attempt_at <= clock.now())
        .order_by(Refund.next_attempt_at).limit(limit)))
