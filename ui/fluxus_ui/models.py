"""Typed views of the API's JSON: what the dashboard reads, parsed once at the client edge."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp from the API (aware), or None."""
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _str(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    return default if value is None else str(value)


INVOICE_KINDS = ("cloud", "mobile_barcode", "certificate", "donation", "company")
# The account keeps the preference in these columns; an order's `invoice` uses the keys.
USER_INVOICE_COLUMNS = {
    "kind": "invoice_kind", "carrier_num": "invoice_carrier_num",
    "love_code": "invoice_love_code", "tax_id": "tax_id", "company_name": "company_name",
    "address": "invoice_address", "company_print": "invoice_print",
}


@dataclass(frozen=True)
class InvoicePreference:
    """How a customer's e-invoice (電子發票) is delivered: carrier, donation or 統一編號."""

    kind: str = "cloud"
    carrier_num: str = ""
    love_code: str = ""
    tax_id: str = ""
    company_name: str = ""
    address: str = ""
    company_print: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InvoicePreference:
        """An order's `invoice_preference` (the order-time keys)."""
        kind = _str(data, "kind", "cloud")
        return cls(
            kind=kind if kind in INVOICE_KINDS else "cloud",
            carrier_num=_str(data, "carrier_num"), love_code=_str(data, "love_code"),
            tax_id=_str(data, "tax_id"), company_name=_str(data, "company_name"),
            address=_str(data, "address"), company_print=bool(data.get("company_print")),
        )

    @classmethod
    def from_user_json(cls, data: dict[str, Any]) -> InvoicePreference:
        return cls.from_json({key: data.get(column)
                              for key, column in USER_INVOICE_COLUMNS.items()})

    def to_order_json(self) -> dict[str, Any]:
        """The `invoice` of an order POST: only what this kind uses."""
        body: dict[str, Any] = {"kind": self.kind}
        for key in INVOICE_FIELDS[self.kind]:
            body[key] = getattr(self, key)
        return body

    def to_user_changes(self) -> dict[str, Any]:
        """A PATCH of the account; 統編 and company name stay on the profile for other kinds."""
        return {USER_INVOICE_COLUMNS[key]: value
                for key, value in self.to_order_json().items()}


# The fields each kind needs, in the order the form shows them.
INVOICE_FIELDS: dict[str, tuple[str, ...]] = {
    "cloud": (),
    "mobile_barcode": ("carrier_num",),
    "certificate": ("carrier_num",),
    "donation": ("love_code",),
    "company": ("tax_id", "company_name", "company_print", "address"),
}


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    company_name: str = ""
    tax_id: str = ""
    language: str = "zh-TW"
    is_staff: bool = False
    is_verified: bool = False
    is_active: bool = True
    created_at: datetime | None = None
    invoice: InvoicePreference = field(default_factory=InvoicePreference)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> User:
        return cls(
            id=_str(data, "id"), username=_str(data, "username"), email=_str(data, "email"),
            first_name=_str(data, "first_name"), last_name=_str(data, "last_name"),
            phone=_str(data, "phone"), company_name=_str(data, "company_name"),
            tax_id=_str(data, "tax_id"), language=_str(data, "language", "zh-TW"),
            is_staff=bool(data.get("is_staff")), is_verified=bool(data.get("is_verified")),
            is_active=bool(data.get("is_active", True)),
            created_at=parse_time(data.get("created_at")),
            invoice=InvoicePreference.from_user_json(data),
        )


@dataclass(frozen=True)
class Plan:
    id: str
    slug: str
    name: str
    price: Decimal
    billing_cycle: str
    currency: str = "TWD"
    description: str = ""
    features: tuple[str, ...] = ()
    is_popular: bool = False
    trial_days: int = 0
    sort_order: int = 0
    # {"zh-TW": {"name", "description", "features"}} from the Plan resource; see in_language.
    translations: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)

    def in_language(self, language: str) -> Plan:
        """This plan as a customer reading `language` sees it (each missing text: default)."""
        entry = self.translations.get(language) or {}
        if not entry:
            return self
        return replace(self, name=str(entry.get("name") or self.name),
                       description=str(entry.get("description") or self.description),
                       features=tuple(str(f) for f in entry.get("features") or self.features))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            id=_str(data, "id"), slug=_str(data, "slug"), name=_str(data, "name"),
            price=parse_money(data.get("price")), billing_cycle=_str(data, "billing_cycle"),
            currency=_str(data, "currency", "TWD"), description=_str(data, "description"),
            features=tuple(str(f) for f in data.get("features") or ()),
            is_popular=bool(data.get("is_popular")), trial_days=int(data.get("trial_days") or 0),
            sort_order=int(data.get("sort_order") or 0),
            translations={str(k): dict(v) for k, v in (data.get("translations") or {}).items()
                          if isinstance(v, dict)},
        )


@dataclass(frozen=True)
class Subscription:
    id: str
    plan_id: str
    status: str
    user_id: str = ""
    auto_renew: bool = True
    cancel_at_period_end: bool = False
    start_date: datetime | None = None
    end_date: datetime | None = None
    trial_end_date: datetime | None = None
    created_at: datetime | None = None
    plan: Plan | None = None
    # The newest 定期定額 card agreement's state (active, cancelling, cancelled, ended), or "".
    card_agreement: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Subscription:
        plan = data.get("plan")
        agreement = data.get("card_agreement")
        plan_id = _str(data, "plan_id") or (_str(plan, "id") if isinstance(plan, dict) else "")
        return cls(
            id=_str(data, "id"), plan_id=plan_id, status=_str(data, "status"),
            user_id=_str(data, "user_id"), auto_renew=bool(data.get("auto_renew", True)),
            cancel_at_period_end=bool(data.get("cancel_at_period_end")),
            start_date=parse_time(data.get("start_date")),
            end_date=parse_time(data.get("end_date")),
            trial_end_date=parse_time(data.get("trial_end_date")),
            created_at=parse_time(data.get("created_at")),
            plan=Plan.from_json(plan) if isinstance(plan, dict) else None,
            card_agreement=_str(agreement, "status") if isinstance(agreement, dict) else "",
        )

    @property
    def is_live(self) -> bool:
        return self.status in ("pending", "trial", "active", "past_due")


@dataclass(frozen=True)
class Order:
    id: str
    order_number: str
    status: str
    amount: Decimal
    payment_method: str
    subscription_id: str = ""
    plan_id: str = ""
    user_id: str = ""
    currency: str = "TWD"
    is_renewal: bool = False
    payment_info: dict[str, Any] = field(default_factory=dict)
    expire_at: datetime | None = None
    paid_at: datetime | None = None
    failure_reason: str = ""
    created_at: datetime | None = None
    # The e-invoice details chosen at checkout for this order; None: the account's.
    invoice_preference: InvoicePreference | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Order:
        info = data.get("payment_info")
        chosen = data.get("invoice_preference")
        return cls(
            id=_str(data, "id"), order_number=_str(data, "order_number"),
            status=_str(data, "status"), amount=parse_money(data.get("amount")),
            payment_method=_str(data, "payment_method"),
            subscription_id=_str(data, "subscription_id"), plan_id=_str(data, "plan_id"),
            user_id=_str(data, "user_id"), currency=_str(data, "currency", "TWD"),
            is_renewal=bool(data.get("is_renewal")),
            payment_info=dict(info) if isinstance(info, dict) else {},
            expire_at=parse_time(data.get("expire_at")), paid_at=parse_time(data.get("paid_at")),
            failure_reason=_str(data, "failure_reason"),
            created_at=parse_time(data.get("created_at")),
            invoice_preference=(InvoicePreference.from_json(chosen)
                                if isinstance(chosen, dict) else None),
        )

    @property
    def awaits_customer(self) -> bool:
        """A payment code was issued and the customer still has to pay it."""
        codes = ("payment_no", "v_account", "barcode1", "PaymentNo", "vAccount", "Barcode1")
        has_code = any(self.payment_info.get(key) for key in codes)
        return self.status in ("pending", "processing") and has_code


@dataclass(frozen=True)
class Invoice:
    id: str
    invoice_number: str
    order_id: str
    amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    currency: str = "TWD"
    buyer_name: str = ""
    buyer_email: str = ""
    buyer_tax_id: str = ""
    description: str = ""
    issued_at: datetime | None = None
    paid_at: datetime | None = None
    pdf_url: str = ""
    user_id: str = ""
    einvoice: EInvoice | None = None  # None for sales before e-invoicing

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Invoice:
        einvoice = data.get("einvoice")
        return cls(
            id=_str(data, "id"), invoice_number=_str(data, "invoice_number"),
            order_id=_str(data, "order_id"), amount=parse_money(data.get("amount")),
            tax_amount=parse_money(data.get("tax_amount")),
            total_amount=parse_money(data.get("total_amount")),
            currency=_str(data, "currency", "TWD"), buyer_name=_str(data, "buyer_name"),
            buyer_email=_str(data, "buyer_email"), buyer_tax_id=_str(data, "buyer_tax_id"),
            description=_str(data, "description"), issued_at=parse_time(data.get("issued_at")),
            paid_at=parse_time(data.get("paid_at")), pdf_url=_str(data, "pdf_url"),
            user_id=_str(data, "user_id"),
            einvoice=EInvoice.from_json(einvoice) if isinstance(einvoice, dict) else None,
        )


@dataclass(frozen=True)
class EInvoice:
    """The uniform invoice (統一發票) issued through ECPay for a sale."""

    status: str
    reason: str = ""
    number: str = ""  # as printed: AB-12345678
    invoice_date: datetime | None = None
    random_number: str = ""
    kind: str = ""
    carrier_type: str = ""
    carrier_num: str = ""
    love_code: str = ""
    buyer_tax_id: str = ""
    sales_amount: int = 0
    tax_amount: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EInvoice:
        return cls(
            status=_str(data, "status"), reason=_str(data, "reason"),
            number=_str(data, "number"), invoice_date=parse_time(data.get("invoice_date")),
            random_number=_str(data, "random_number"), kind=_str(data, "kind"),
            carrier_type=_str(data, "carrier_type"), carrier_num=_str(data, "carrier_num"),
            love_code=_str(data, "love_code"), buyer_tax_id=_str(data, "buyer_tax_id"),
            sales_amount=int(data.get("sales_amount") or 0),
            tax_amount=int(data.get("tax_amount") or 0),
        )


@dataclass(frozen=True)
class AuditEntry:
    id: str
    action: str
    user_id: str = ""
    resource_type: str = ""
    resource_id: str = ""
    description: str = ""
    ip_address: str = ""
    created_at: datetime | None = None
    user_email: str = ""  # who user_id is, as the API names them (empty: the system)
    user_name: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditEntry:
        return cls(
            id=_str(data, "id"), action=_str(data, "action"), user_id=_str(data, "user_id"),
            resource_type=_str(data, "resource_type"), resource_id=_str(data, "resource_id"),
            description=_str(data, "description"), ip_address=_str(data, "ip_address"),
            created_at=parse_time(data.get("created_at")),
            user_email=_str(data, "user_email"), user_name=_str(data, "user_name"),
        )


@dataclass(frozen=True)
class CheckoutForm:
    """The signed form the browser must POST to the gateway itself."""

    action: str
    method: str
    fields: dict[str, str]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckoutForm:
        fields = data.get("fields") or {}
        return cls(
            action=_str(data, "action"), method=_str(data, "method", "POST").upper(),
            fields={str(k): str(v) for k, v in fields.items()},
        )
