"""定期定額 at the simulator: CreditCardPeriodAction, the schedule, ExecTimes, six declines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.ecpay.client import EcpayClient
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.errors import EcpayRefused
from services.ecpay.notifications import PeriodNotification, verify_notification
from services.ecpay.query import is_already_cancelled
from tests.integration.ecpay_sim.sim_helpers import (
    Receiver,
    checkout,
    control,
    months_later,
    periodic,
    refused,
    trade_no,
)

pytestmark = pytest.mark.integration

Wait = Callable[..., Any]


def _agreement(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, **plan: Any
) -> str:
    no = trade_no()
    assert checkout(credentials, periodic(receiver, no, **plan)).status_code == 200
    control(simulator, no, "pay")
    return no


def _period_posts(receiver: Receiver, no: str, count: int, wait_for: Wait) -> list[Any]:
    posts = wait_for(
        lambda: len(receiver.at(f"/period/{no}")) >= count and receiver.at(f"/period/{no}"),
        what=f"{count} PeriodReturnURL posts",
    )
    return posts


def test_cancel_stops_the_agreement_and_cannot_be_repeated(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver
) -> None:
    no = _agreement(simulator, credentials, receiver)
    with EcpayClient(credentials, timeout=5) as client:
        assert client.query_period(no).running
        result = client.period_action(no, "Cancel")
        assert result.ok and result.merchant_trade_no == no
        info = client.query_period(no)
        assert info.cancelled and info.exec_status == "0"
        with pytest.raises(EcpayRefused) as twice:
            client.period_action(no, "Cancel")
        with pytest.raises(EcpayRefused) as reauth:
            client.period_action(no, "ReAuth")
    assert is_already_cancelled(twice.value) and twice.value.rtn_code != 1
    assert is_already_cancelled(reauth.value)  # a cancelled agreement stays cancelled
    assert refused(simulator, no, "period") == 409
    assert len(info.exec_log) == 1


def test_period_action_for_an_unknown_order_is_refused(credentials: EcpayCredentials) -> None:
    with EcpayClient(credentials, timeout=5) as client, pytest.raises(EcpayRefused) as caught:
        client.period_action(trade_no(), "Cancel")
    assert caught.value.rtn_code == 10200047 and not is_already_cancelled(caught.value)


def test_a_decline_never_shifts_the_next_charge_date(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    no = _agreement(simulator, credentials, receiver, times=6)
    control(simulator, no, "period")
    control(simulator, no, "period", {"success": False})
    control(simulator, no, "period")
    with EcpayClient(credentials, timeout=5) as client:
        info = client.query_period(no)
    first = info.exec_log[0].process_date
    assert first is not None
    expected = [months_later(first, n) for n in range(4)]
    assert [c.process_date for c in info.exec_log] == expected
    assert [c.paid for c in info.exec_log] == [True, True, False, True]
    assert len({c.gwsr for c in info.exec_log}) == 4

    posts = _period_posts(receiver, no, 3, wait_for)
    notes = [PeriodNotification.from_form(verify_notification(p.form, credentials)) for p in posts]
    notes.sort(key=lambda n: n.process_date)
    assert [n.process_date for n in notes] == expected[1:]
    assert [(n.paid, n.total_success_times) for n in notes] == [(True, 2), (False, 2), (True, 3)]
    assert len({n.gwsr for n in notes}) == 3


def test_exec_times_counts_every_period_and_then_stops(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver
) -> None:
    no = _agreement(simulator, credentials, receiver, kind="D", times=3)
    control(simulator, no, "period", {"success": False})
    control(simulator, no, "period")
    assert refused(simulator, no, "period") == 409
    with EcpayClient(credentials, timeout=5) as client:
        info = client.query_period(no)
    assert info.finished and info.exec_status == "2"
    assert (len(info.exec_log), info.total_success_times, info.total_success_amount) == (
        3,
        2,
        1980,
    )


def test_six_declines_cancel_the_agreement(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver
) -> None:
    no = _agreement(simulator, credentials, receiver, times=12)
    for charge in range(6):
        with EcpayClient(credentials, timeout=5) as client:
            assert client.query_period(no).running, f"cancelled before decline {charge + 1}"
        control(simulator, no, "period", {"success": False})
    with EcpayClient(credentials, timeout=5) as client:
        info = client.query_period(no)
    assert info.cancelled and [c.paid for c in info.exec_log] == [True] + [False] * 6
    assert refused(simulator, no, "period") == 409


def test_reauth_reruns_only_a_declined_latest_charge(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    no = _agreement(simulator, credentials, receiver)
    with EcpayClient(credentials, timeout=5) as client:
        with pytest.raises(EcpayRefused):
            client.period_action(no, "ReAuth")  # the latest charge succeeded
        control(simulator, no, "period", {"success": False})
        assert client.period_action(no, "ReAuth").ok
        info = client.query_period(no)
    assert [c.paid for c in info.exec_log] == [True, False, True]
    assert info.total_success_times == 2
    posts = _period_posts(receiver, no, 2, wait_for)
    notes = [PeriodNotification.from_form(verify_notification(p.form, credentials)) for p in posts]
    assert sorted((n.paid, n.total_success_times) for n in notes) == [(False, 1), (True, 2)]
    # The re-authorized charge still belongs to period 2: the next one is period 3.
    control(simulator, no, "period")
    with EcpayClient(credentials, timeout=5) as client:
        last = client.query_period(no).exec_log[-1]
    first = info.exec_log[0].process_date
    assert first is not None and last.process_date == months_later(first, 2)


def test_dashboard_edited_amount_is_charged_from_the_next_period(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    no = _agreement(simulator, credentials, receiver)
    assert refused(simulator, no, "period-amount", {"amount": 0}) == 400
    control(simulator, no, "period-amount", {"amount": 1234})
    control(simulator, no, "period")
    [post] = _period_posts(receiver, no, 1, wait_for)
    note = PeriodNotification.from_form(verify_notification(post.form, credentials))
    assert (note.amount, note.first_auth_amount) == (1234, 990)
    with EcpayClient(credentials, timeout=5) as client:
        info = client.query_period(no)
    assert (info.period_amount, info.first_amount, info.total_success_amount) == (1234, 990, 2224)
