"""Audit action codes (what the services record with ``audit.record``) in both languages,
merged into the main catalog as ``audit.<code>``: code → (zh-TW, en). The staff pages show the
label, with the code itself beside it for searching; a unit test fails on an unlabelled code."""

from __future__ import annotations

import html
from collections.abc import Callable

_ACTIONS: dict[str, tuple[str, str]] = {
    # accounts and sign-in
    "register": ("註冊", "Registered"),
    "register_refused": ("拒絕註冊", "Registration refused"),
    "login": ("登入", "Logged in"),
    "login_failed": ("登入失敗", "Login failed"),
    "logout": ("登出", "Logged out"),
    "refresh_token_reuse": ("偵測到重複使用的登入憑證", "Refresh token reused"),
    "email_verified": ("電子郵件已驗證", "E-mail verified"),
    "password_change": ("變更密碼", "Password changed"),
    "password_reset": ("重設密碼", "Password reset"),
    "password_reset_requested": ("申請重設密碼", "Password reset requested"),
    "user_create": ("建立使用者", "User created"),
    "user_update": ("更新使用者資料", "User updated"),
    "user_delete": ("停用使用者", "User deactivated"),
    "user.external_id_set": ("設定外部識別碼", "External ID set"),
    # plans, subscriptions and renewals
    "plan.created": ("建立方案", "Plan created"),
    "plan.updated": ("更新方案", "Plan updated"),
    "plan.archived": ("封存方案", "Plan archived"),
    "subscription_create": ("建立訂閱", "Subscription created"),
    "subscription_update": ("變更自動續訂", "Auto-renew changed"),
    "subscription_status_change": ("訂閱狀態變更", "Subscription status changed"),
    "subscription_extended": ("延長訂閱", "Subscription extended"),
    "subscription_plan_change": ("變更方案", "Plan change requested"),
    "subscription_plan_change_cancel": ("取消排定的方案變更", "Scheduled plan change cancelled"),
    "subscription.plan_changed": ("方案已變更", "Plan changed"),
    "subscription.activated": ("訂閱已啟用", "Subscription activated"),
    "subscription.renewed": ("訂閱已續訂", "Subscription renewed"),
    "subscription.reactivated": ("訂閱已重新啟用", "Subscription reactivated"),
    "subscription.trial_paid": ("試用期間已付款", "Paid during the trial"),
    # lifecycle moves: "subscription_" + the new status
    "subscription_pending": ("訂閱待付款", "Subscription pending"),
    "subscription_trial": ("訂閱進入試用", "Subscription on trial"),
    "subscription_active": ("訂閱生效", "Subscription active"),
    "subscription_past_due": ("訂閱逾期未付", "Subscription past due"),
    "subscription_cancelled": ("訂閱已取消", "Subscription cancelled"),
    "subscription_expired": ("訂閱已到期", "Subscription expired"),
    "renewal_order_created": ("建立續訂訂單", "Renewal order created"),
    "renewal_skipped": ("略過續訂", "Renewal skipped"),
    "renewal.charge_failed": ("續訂扣款失敗", "Renewal charge failed"),
    "card_agreement.cancel_requested": ("申請終止信用卡定期扣款",
                                        "Card agreement cancellation requested"),
    "card_agreement.cancelled": ("信用卡定期扣款已終止", "Card agreement cancelled"),
    "card_agreement.ended": ("信用卡定期扣款已結束", "Card agreement ended"),
    # orders and payments
    "order_create": ("建立訂單", "Order created"),
    "order_annotated": ("訂單加註", "Order note added"),
    "order_email_resend": ("重寄付款通知信", "Payment e-mail resent"),
    "payment.completed": ("付款完成", "Payment completed"),
    "payment.failed": ("付款失敗", "Payment failed"),
    "payment.expired": ("繳費期限已過", "Payment expired"),
    "payment.instructions_issued": ("已取得繳費資訊", "Payment instructions issued"),
    "payment.code_not_issued": ("未取得繳費代碼", "Payment code not issued"),
    "payment.review_opened": ("付款送交人工審查", "Payment sent for review"),
    "payment_review.resolved": ("付款審查已處理", "Payment review resolved"),
    # money back and credit
    "refund.requested": ("申請退款", "Refund requested"),
    "refund.confirmed": ("退款匯款已確認", "Refund transfer confirmed"),
    "refund.completed": ("退款完成", "Refund completed"),
    "refund.failed": ("退款失敗", "Refund failed"),
    "credit_goodwill": ("給予補償額度", "Goodwill credit granted"),
    "coupon_create": ("建立優惠券", "Coupon created"),
    "coupon_deactivate": ("停用優惠券", "Coupon deactivated"),
    "coupon_redeem": ("使用優惠券", "Coupon redeemed"),
    # invoices and e-invoices
    "invoice_annotated": ("發票加註", "Invoice note added"),
    "invoice_resend": ("重寄發票", "Invoice resent"),
    "einvoice.issued": ("開立電子發票", "E-invoice issued"),
    "einvoice.failed": ("電子發票開立失敗", "E-invoice failed"),
    "einvoice.retried": ("重新開立電子發票", "E-invoice retried"),
    "einvoice.voided": ("作廢電子發票", "E-invoice voided"),
    "einvoice.allowance": ("開立折讓單", "Allowance issued"),
    "einvoice.allowance_agreed": ("買方同意折讓", "Allowance agreed"),
    "einvoice.allowance_voided": ("作廢折讓單", "Allowance voided"),
    # integrations and staff tools
    "api_key.created": ("建立 API 金鑰", "API key created"),
    "api_key.revoked": ("撤銷 API 金鑰", "API key revoked"),
    "api_key.used": ("使用 API 金鑰", "API key used"),
    "webhook_endpoint.created": ("建立事件通知端點", "Webhook endpoint created"),
    "webhook_endpoint.updated": ("更新事件通知端點", "Webhook endpoint updated"),
    "webhook_endpoint.disabled": ("停用事件通知端點", "Webhook endpoint disabled"),
    "webhook_endpoint.deleted": ("刪除事件通知端點", "Webhook endpoint deleted"),
    "webhook_endpoint.secret_rotated": ("更換事件通知密鑰", "Webhook secret rotated"),
    "webhook_event.resent": ("重送事件通知", "Webhook event resent"),
    "webhook_events.replayed": ("重播事件通知", "Webhook events replayed"),
    "test_clock.create": ("建立測試時鐘", "Test clock created"),
    "test_clock.advance": ("推進測試時鐘", "Test clock advanced"),
    "test_clock.delete": ("刪除測試時鐘", "Test clock deleted"),
    "test_clock.customer_create": ("建立測試時鐘客戶", "Test clock customer created"),
    "report_export": ("匯出報表", "Report exported"),
    "job_requeued": ("重新排入失敗的工作", "Failed job requeued"),
}

MESSAGES: dict[str, tuple[str, str]] = {f"audit.{code}": pair for code, pair in _ACTIONS.items()}


def action_html(action: str, t: Callable[[str], str]) -> str:
    """The action's label in the reader's language, its code small and muted after it (staff
    search by code); an unknown code (a newer service) shows as the code alone."""
    code = html.escape(action)
    key = f"audit.{action}"
    if key not in MESSAGES:
        return f'<span class="fx-audit-code">{code}</span>'
    return (f'<span class="fx-audit-label">{html.escape(t(key))}</span> '
            f'<small class="muted fx-audit-code">{code}</small>')
