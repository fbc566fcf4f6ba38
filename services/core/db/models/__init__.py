"""Every table, one module each; importing this package registers them all on Base.metadata."""

from services.core.db.models.api_key import ApiKey
from services.core.db.models.audit_log import AuditLog
from services.core.db.models.card_agreement import CardAgreement
from services.core.db.models.coupon import Coupon, CouponRedemption
from services.core.db.models.credit import CreditEntry
from services.core.db.models.einvoice import EInvoice, EInvoiceAllowance
from services.core.db.models.email_delivery import EmailDelivery
from services.core.db.models.invoice import Invoice, InvoiceSequence
from services.core.db.models.mrr import MrrMovement
from services.core.db.models.order import Order
from services.core.db.models.payment_attempt import PaymentAttempt
from services.core.db.models.payment_notification import PaymentNotification
from services.core.db.models.payment_review import PaymentReview
from services.core.db.models.period_charge import PeriodCharge
from services.core.db.models.plan import Plan
from services.core.db.models.plan_change import PlanChange
from services.core.db.models.refund import Refund
from services.core.db.models.subscription import Subscription
from services.core.db.models.subscription_extension import SubscriptionExtension
from services.core.db.models.test_clock import TestClock
from services.core.db.models.tokens import RefreshToken, RevokedAccessToken, UserToken
from services.core.db.models.user import User
from services.core.db.models.webhook import Event, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "AuditLog",
    "CardAgreement",
    "Coupon",
    "CouponRedemption",
    "CreditEntry",
    "EInvoice",
    "EInvoiceAllowance",
    "EmailDelivery",
    "Event",
    "Invoice",
    "InvoiceSequence",
    "MrrMovement",
    "Order",
    "PaymentAttempt",
    "PaymentNotification",
    "PaymentReview",
    "PeriodCharge",
    "Plan",
    "PlanChange",
    "RefreshToken",
    "Refund",
    "RevokedAccessToken",
    "Subscription",
    "SubscriptionExtension",
    "TestClock",
    "User",
    "UserToken",
    "WebhookDelivery",
    "WebhookEndpoint",
]
