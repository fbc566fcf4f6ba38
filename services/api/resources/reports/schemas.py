"""Report schemas."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates_schema


class MrrArgsSchema(Schema):
    since = fields.Date(required=True, data_key="from",
                        metadata={"description": "first month (any day in it), YYYY-MM-DD"})
    until = fields.Date(required=True, data_key="to",
                        metadata={"description": "last month (any day in it), YYYY-MM-DD"})

    @validates_schema
    def _ordered(self, data: dict[str, object], **_kwargs: object) -> None:
        if data["until"] < data["since"]:  # type: ignore[operator]
            raise ValidationError("must not be before from", field_name="to")


def _amount() -> fields.String:
    return fields.String(required=True, metadata={"format": "decimal", "example": "942.86"})


class MrrMonthSchema(Schema):
    month = fields.String(required=True, metadata={"example": "2026-11"})
    starting = _amount()
    new = _amount()
    expansion = _amount()
    contraction = _amount()
    churn_voluntary = _amount()
    churn_delinquent = _amount()
    reactivation = _amount()
    ending = _amount()
    revenue_churn_rate = fields.String(allow_none=True, required=True)
    net_revenue_retention = fields.String(allow_none=True, required=True)


class MrrReportSchema(Schema):
    currency = fields.String(required=True, metadata={"example": "TWD"})
    basis = fields.String(required=True)
    months = fields.List(fields.Nested(MrrMonthSchema), required=True)


class InvoiceExportArgsSchema(Schema):
    since = fields.Date(required=True, data_key="from",
                        metadata={"description": "first day (Asia/Taipei), YYYY-MM-DD"})
    until = fields.Date(required=True, data_key="to",
                        metadata={"description": "last day, included (Asia/Taipei), YYYY-MM-DD"})

    @validates_schema
    def _ordered(self, data: dict[str, object], **_kwargs: object) -> None:
        if data["until"] < data["since"]:  # type: ignore[operator]
            raise ValidationError("must not be before from", field_name="to")
        if (data["until"] - data["since"]).days > 366:  # type: ignore[operator]
            raise ValidationError("at most a year at a time", field_name="to")
