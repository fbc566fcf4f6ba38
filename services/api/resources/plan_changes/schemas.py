"""Plan-change and credit schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.api.resources.common import Money, PageArgsSchema, Text
from services.core.domain.proration import ChangePolicy
from services.core.usecases.plan_changes.apply import PAYMENT_METHODS


class ChangePlanSchema(Schema):
    plan_id = fields.UUID(required=True)
    proration_date = fields.AwareDateTime(
        load_default=None,
        metadata={"description": "the instant the lines are computed for (default: now); "
                                 "pass the preview's to apply exactly its numbers"})
    policy = fields.String(
        load_default=None, validate=validate.OneOf([p.value for p in ChangePolicy]),
        metadata={"description": "immediate | end_of_term; default: upgrade immediate, "
                                 "downgrade end_of_term"})


class ApplyChangeSchema(ChangePlanSchema):
    payment_method = fields.String(load_default="credit_card",
                                   validate=validate.OneOf(PAYMENT_METHODS),
                                   metadata={"description": "how the upgrade's net is paid"})


class TaxSchema(Schema):
    amount = Money(required=True, metadata={"description": "sales amount"})
    tax = Money(required=True, metadata={"description": "5% business tax"})
    total = Money(required=True)


class QuoteSchema(Schema):
    subscription_id = fields.UUID(required=True)
    from_plan_id = fields.UUID(required=True)
    to_plan_id = fields.UUID(required=True)
    policy = fields.String(required=True)
    upgrade = fields.Boolean(required=True, metadata={"description": "higher daily price"})
    proration_date = fields.AwareDateTime(required=True)
    effective_at = fields.AwareDateTime(
        required=True, metadata={"description": "immediate: now, or once the net is paid; "
                                                "end_of_term: the period end"})
    requires_payment = fields.Boolean(required=True)
    credit = Money(required=True, metadata={"description": "unused days of the old plan"})
    charge = Money(required=True, metadata={"description": "the new plan until period end"})
    net = Money(required=True, metadata={"description": "charge − credit; negative is "
                                                       "credited to the balance"})
    credit_balance_used = Money(required=True)
    amount_due = Money(required=True, metadata={"description": "what the order charges"})
    tax = fields.Nested(TaxSchema, required=True, metadata={"description": "of amount_due"})
    remaining_days = fields.Integer(required=True)
    period_days = fields.Integer(required=True)
    new_period_start = fields.AwareDateTime(required=True)
    new_period_end = fields.AwareDateTime(required=True)


class AppliedChangeSchema(QuoteSchema):
    plan_change_id = fields.UUID(required=True)
    status = fields.String(required=True, metadata={
        "description": "awaiting_payment (pay order_id) | scheduled | applied"})
    order_id = fields.UUID(allow_none=True, required=True)


class PlanChangeSchema(Schema):
    id = fields.UUID(required=True)
    subscription_id = fields.UUID(required=True)
    from_plan_id = fields.UUID(required=True)
    to_plan_id = fields.UUID(required=True)
    policy = fields.String(required=True)
    status = fields.String(required=True)
    proration_date = fields.AwareDateTime(required=True)
    effective_at = fields.AwareDateTime(required=True)
    credit = Money(required=True)
    charge = Money(required=True)
    net = Money(required=True)
    order_id = fields.UUID(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)


class CreditEntrySchema(Schema):
    id = fields.UUID(required=True)
    amount = Money(required=True, metadata={"description": "+ granted, − used"})
    kind = fields.String(required=True)
    order_id = fields.UUID(allow_none=True, required=True)
    plan_change_id = fields.UUID(allow_none=True, required=True)
    note = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


class CreditBalanceSchema(Schema):
    user_id = fields.UUID(required=True)
    balance = Money(required=True)
    entries = fields.List(fields.Nested(CreditEntrySchema), required=True)


class CreditArgsSchema(PageArgsSchema):
    user_id = fields.UUID(load_default=None, metadata={"description": "staff only"})


class GoodwillSchema(Schema):
    user_id = fields.UUID(required=True)
    amount = fields.Integer(required=True, validate=validate.Range(min=1, max=10_000_000))
    note = Text(200, min_length=1, required=True)
