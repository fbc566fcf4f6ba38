"""The refund API's amount: whole NT$ as digits, or `unused` (the days left, day-based)."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from services.api.resources.refunds.schemas import RefundCreateSchema


@pytest.mark.parametrize("amount", ["1", "300", "99999999", "unused"])
def test_whole_dollars_or_unused_are_accepted(amount: str) -> None:
    loaded = RefundCreateSchema().load({"amount": amount, "reason": "left early",
                                        "cancel_subscription": "now"})
    assert loaded["amount"] == amount


@pytest.mark.parametrize("amount", ["0", "1.5", "-3", "Unused", "unused days", ""])
def test_anything_else_is_refused_not_rounded(amount: str) -> None:
    with pytest.raises(ValidationError) as refused:
        RefundCreateSchema().load({"amount": amount, "reason": "left early"})
    assert "amount" in refused.value.messages
