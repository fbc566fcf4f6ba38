"""Staff-tool schemas: extension, payment e-mail resend, failed jobs."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.api.resources.common import PageArgsSchema, Text, page_schema
from services.core.usecases.backoffice.extensions import MAX_DAYS, REASON_MAX
from services.core.usecases.backoffice.order_resend import KINDS


class ExtendSchema(Schema):
    days = fields.Integer(validate=validate.Range(min=1, max=MAX_DAYS), metadata={
        "description": "whole days added to the current end (or give end_date)"})
    end_date = fields.Date(metadata={
        "description": "the new last day (Asia/Taipei), YYYY-MM-DD; the end keeps its time"})
    reason = Text(REASON_MAX, min_length=1, required=True,
                  metadata={"description": "why; kept on the extension and the audit row"})

    @validates_schema
    def _one_of(self, data: dict[str, object], **_kwargs: object) -> None:
        if ("days" in data) == ("end_date" in data):
            raise ValidationError("Give days or end_date, not both.", field_name="days")


class ExtendedSchema(Schema):
    id = fields.UUID(required=True)
    subscription_id = fields.UUID(required=True)
    previous_end_date = fields.AwareDateTime(required=True)
    new_end_date = fields.AwareDateTime(required=True)
    reason = fields.String(required=True)
    created_by = fields.UUID(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)


class OrderResendSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS)), metadata={
        "description": "instructions: the ATM/convenience-store/barcode payment code of an open"
                       " order; confirmation: the payment confirmation of a paid one"})


class OrderResentSchema(Schema):
    order_id = fields.UUID(required=True)
    kind = fields.String(required=True)
    delivery_id = fields.UUID(required=True)
    recipient = fields.String(required=True)


class FailedJobSchema(Schema):
    id = fields.String(required=True)
    queue = fields.String(required=True)
    job = fields.String(required=True, metadata={"example": "send_email"})
    function = fields.String(required=True)
    failed_at = fields.AwareDateTime(allow_none=True, required=True)
    error = fields.String(required=True, metadata={
        "description": "the exception's last line (never the arguments or the traceback)"})


FailedJobPageSchema = page_schema(FailedJobSchema, "FailedJobPage")


class FailedJobArgsSchema(PageArgsSchema):
    pass
