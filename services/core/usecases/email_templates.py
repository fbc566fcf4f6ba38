"""Every e-mail's words in zh-TW and English, rendered to a plain-text and an escaped HTML part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup, escape

from services.core.usecases import email_templates_subscriptions as subscription_words

LANGUAGES = ("zh-TW", "en")


@dataclass(frozen=True)
class Link:
    """A line that is a link: a label and a URL (both Jinja expressions)."""

    label: str
    url: str


Line = str | Link


@dataclass(frozen=True)
class Words:
    subject: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


_GREETING = {"zh-TW": "{{ name }} 您好：", "en": "Hello {{ name }},"}
_SIGNATURE = {"zh-TW": "{{ seller_name }} 敬上", "en": "— {{ seller_name }}"}
_DASHBOARD = {
    "zh-TW": Link("前往會員中心", "{{ dashboard_url }}"),
    "en": Link("Open your dashboard", "{{ dashboard_url }}"),
}

_PAYMENT_CODES = {
    "zh-TW": (
        "{% if bank_code %}銀行代碼：{{ bank_code }}　虛擬帳號：{{ v_account }}{% endif %}",
        "{% if payment_no %}超商繳費代碼：{{ payment_no }}{% endif %}",
        "{% if barcode1 %}條碼：{{ barcode1 }} / {{ barcode2 }} / {{ barcode3 }}{% endif %}",
        "{% if expire_date %}繳費期限：{{ expire_date }}{% endif %}",
    ),
    "en": (
        "{% if bank_code %}Bank code: {{ bank_code }}, account: {{ v_account }}{% endif %}",
        "{% if payment_no %}Convenience-store payment code: {{ payment_no }}{% endif %}",
        "{% if barcode1 %}Barcodes: {{ barcode1 }} / {{ barcode2 }} / {{ barcode3 }}{% endif %}",
        "{% if expire_date %}Pay by: {{ expire_date }}{% endif %}",
    ),
}


# The uniform invoice (統一發票) line: its number once ECPay issued it, else that it follows.
_EINVOICE = {
    "zh-TW": (
        "{% if einvoice_number %}統一發票 {{ einvoice_number }}（{{ einvoice_date }}，"
        "隨機碼 {{ einvoice_random }}）{{ einvoice_delivery_zh }}"
        "{% elif einvoice_pending %}統一發票開立中，開立後會再以電子郵件通知您。"
        "{% elif einvoice_elsewhere %}統一發票由 {{ seller_name }} 另行開立。{% endif %}"
    ),
    "en": (
        "{% if einvoice_number %}Uniform invoice {{ einvoice_number }} ({{ einvoice_date }}, "
        "random number {{ einvoice_random }}){{ einvoice_delivery_en }}"
        "{% elif einvoice_pending %}Your uniform invoice is being issued; we will e-mail you "
        "its number.{% elif einvoice_elsewhere %}{{ seller_name }} issues the uniform invoice "
        "separately.{% endif %}"
    ),
}

TEMPLATES: dict[str, dict[str, Words]] = {
    "welcome": {
        "zh-TW": Words("歡迎加入 {{ seller_name }}", ("感謝您註冊，帳號 {{ email }} 已建立。",)),
        "en": Words(
            "Welcome to {{ seller_name }}",
            ("Thank you for signing up; your account {{ email }} is ready.",),
        ),
    },
    "verify_email": {
        "zh-TW": Words(
            "請驗證您的電子郵件",
            ("請點選下方連結完成驗證。", Link("驗證電子郵件", "{{ link }}")),
        ),
        "en": Words(
            "Please verify your e-mail address",
            ("Follow the link below to verify it.", Link("Verify my e-mail", "{{ link }}")),
        ),
    },
    "password_reset": {
        "zh-TW": Words(
            "重設密碼",
            (
                "我們收到重設密碼的要求；若非您本人操作，請忽略此信。",
                Link("重設密碼", "{{ link }}"),
            ),
        ),
        "en": Words(
            "Reset your password",
            (
                "We were asked to reset your password; ignore this message if it was not you.",
                Link("Reset my password", "{{ link }}"),
            ),
        ),
    },
    "payment_confirmation": {
        "zh-TW": Words(
            "付款成功：訂單 {{ order_number }}",
            (
                "我們已收到您 {{ plan_name }} 方案的款項 {{ amount }}。",
                "{% if period_end %}服務期間：{{ period_start }} 至 {{ period_end }}{% endif %}",
                "{% if invoice_number %}發票號碼 {{ invoice_number }}：銷售額 {{ invoice_net }}，"
                "營業稅 {{ invoice_tax }}，總計 {{ invoice_total }}{% endif %}",
                _EINVOICE["zh-TW"],
                "{% if attached %}發票 PDF 已附於本信。{% endif %}",
            ),
        ),
        "en": Words(
            "Payment received: order {{ order_number }}",
            (
                "We received {{ amount }} for your {{ plan_name }} plan.",
                "{% if period_end %}Service period: {{ period_start }} to "
                "{{ period_end }}{% endif %}",
                "{% if invoice_number %}Invoice {{ invoice_number }}: net {{ invoice_net }}, "
                "tax {{ invoice_tax }}, total {{ invoice_total }}{% endif %}",
                _EINVOICE["en"],
                "{% if attached %}The invoice is attached as a PDF.{% endif %}",
            ),
        ),
    },
    "payment_instructions": {
        "zh-TW": Words(
            "繳費資訊：訂單 {{ order_number }}",
            ("請於期限內繳納 {{ plan_name }} 方案款項 {{ amount }}。", *_PAYMENT_CODES["zh-TW"]),
        ),
        "en": Words(
            "How to pay order {{ order_number }}",
            (
                "Please pay {{ amount }} for your {{ plan_name }} plan in time.",
                *_PAYMENT_CODES["en"],
            ),
        ),
    },
    "renewal_reminder": {
        "zh-TW": Words(
            "提醒：{{ plan_name }} 方案尚未續費",
            (
                "您的方案已於 {{ end_date }} 到期，續費款項 {{ amount }} 尚未收到。",
                "{% if grace_until %}請於 {{ grace_until }} 前完成付款，以免服務中止。{% endif %}",
                Link("立即付款", "{{ pay_url }}"),
            ),
        ),
        "en": Words(
            "Reminder: your {{ plan_name }} plan is unpaid",
            (
                "Your plan ended on {{ end_date }} and the renewal of {{ amount }} is unpaid.",
                "{% if grace_until %}Please pay by {{ grace_until }} to keep the service."
                "{% endif %}",
                Link("Pay now", "{{ pay_url }}"),
            ),
        ),
    },
    "renewal_payment_link": {
        "zh-TW": Words(
            "{{ plan_name }} 方案續費通知",
            (
                "下一期（{{ period_start }} 至 {{ period_end }}）費用為 {{ amount }}。",
                Link("前往付款", "{{ pay_url }}"),
            ),
        ),
        "en": Words(
            "Renew your {{ plan_name }} plan",
            (
                "The next period ({{ period_start }} to {{ period_end }}) costs {{ amount }}.",
                Link("Pay now", "{{ pay_url }}"),
            ),
        ),
    },
    "payment_failed": {
        "zh-TW": Words(
            "付款未成功{% if order_number %}：訂單 {{ order_number }}{% endif %}",
            (
                "{% if order_number %}訂單 {{ order_number }}"
                "{% else %}{{ plan_name }} 方案{% endif %}"
                "（{{ amount }}）付款未成功。",
                "{% if reason %}原因：{{ reason }}{% endif %}",
                Link("重新付款", "{{ pay_url }}"),
            ),
        ),
        "en": Words(
            "Payment failed{% if order_number %}: order {{ order_number }}{% endif %}",
            (
                "The payment of {{ amount }} for "
                "{% if order_number %}order {{ order_number }}{% else %}your {{ plan_name }} plan"
                "{% endif %} did not go through.",
                "{% if reason %}Reason: {{ reason }}{% endif %}",
                Link("Try again", "{{ pay_url }}"),
            ),
        ),
    },
    "einvoice_issued": {
        "zh-TW": Words(
            "統一發票 {{ einvoice_number }} 已開立：訂單 {{ order_number }}",
            (
                "您訂單 {{ order_number }}（{{ plan_name }}，{{ amount }}）的統一發票已開立。",
                _EINVOICE["zh-TW"],
            ),
        ),
        "en": Words(
            "Uniform invoice {{ einvoice_number }} issued: order {{ order_number }}",
            (
                "The uniform invoice for order {{ order_number }} ({{ plan_name }}, "
                "{{ amount }}) has been issued.",
                _EINVOICE["en"],
            ),
        ),
    },
    "refund_issued": {
        "zh-TW": Words(
            "退款 NT${{ refund_amount }} 已完成：訂單 {{ order_number }}",
            (
                "您訂單 {{ order_number }}（{{ plan_name }}）的 NT${{ refund_amount }} 已退還"
                "{% if refund_method == 'card' %}至您付款的信用卡，入帳時間依發卡銀行而定"
                "{% else %}，已以銀行轉帳匯出{% if transfer_reference %}（轉帳編號 "
                "{{ transfer_reference }}）{% endif %}{% endif %}。",
                "若有統一發票，我們會依規定作廢或開立折讓單。",
            ),
        ),
        "en": Words(
            "Refund of NT${{ refund_amount }} made: order {{ order_number }}",
            (
                "NT${{ refund_amount }} of order {{ order_number }} ({{ plan_name }}) has been "
                "refunded{% if refund_method == 'card' %} to the card you paid with; when it "
                "shows depends on your bank{% else %} by bank transfer{% if transfer_reference %}"
                " (reference {{ transfer_reference }}){% endif %}{% endif %}.",
                "Its uniform invoice, if any, is voided or given an allowance as the law requires.",
            ),
        ),
    },
    "card_agreement_ended": {
        "zh-TW": Words(
            "{{ plan_name }} 方案的信用卡定期扣款已停止",
            (
                "綠界已停止您 {{ plan_name }} 方案的信用卡定期扣款"
                "{% if reason %}（{{ reason }}）{% endif %}。",
                "之後每一期我們會寄送付款連結給您，您也可以在帳戶中重新設定信用卡付款。",
            ),
        ),
        "en": Words(
            "Automatic card payments for your {{ plan_name }} plan have stopped",
            (
                "ECPay stopped charging your card for your {{ plan_name }} plan"
                "{% if reason %} ({{ reason }}){% endif %}.",
                "From now on we e-mail you a payment link each period; you can also set up "
                "card payments again from your account.",
            ),
        ),
    },
    # The trial ended unpaid: the subscription waits past due for its first payment.
    "trial_ended": {
        "zh-TW": Words(
            "{{ plan_name }} 免費試用已結束，請完成付款",
            (
                "您的 {{ plan_name }} 免費試用已於 {{ end_date }} 結束。",
                "{% if grace_until %}請於 {{ grace_until }} 前付款 {{ amount }}，以繼續使用。"
                "{% endif %}",
                "以信用卡付款會同時設定定期定額：今天扣款，之後每期由綠界自動扣款。",
                Link("立即付款", "{{ pay_url }}"),
            ),
        ),
        "en": Words(
            "Your {{ plan_name }} free trial has ended",
            (
                "Your free trial of the {{ plan_name }} plan ended on {{ end_date }}.",
                "{% if grace_until %}Please pay {{ amount }} by {{ grace_until }} to keep "
                "using it.{% endif %}",
                "Paying by card also sets up automatic card payments: charged today, then "
                "each period by ECPay.",
                Link("Pay now", "{{ pay_url }}"),
            ),
        ),
    },
    "subscription_expired": {
        "zh-TW": Words(
            "您的 {{ plan_name }} 方案已到期",
            ("您的 {{ plan_name }} 方案已於 {{ end_date }} 到期，歡迎隨時重新訂閱。",),
        ),
        "en": Words(
            "Your {{ plan_name }} plan has expired",
            (
                "Your {{ plan_name }} plan expired on {{ end_date }}; "
                "you can subscribe again any time.",
            ),
        ),
    },
    # To staff: an outgoing webhook endpoint stopped receiving events.
    "webhook_endpoint_disabled": {
        "zh-TW": Words(
            "Webhook 端點已停用：{{ endpoint_url }}",
            ("Webhook 端點 {{ endpoint_url }} 已停用，不再傳送事件。原因：{{ reason }}",
             "修正接收端後，請在管理介面重新啟用，並重送停用期間的事件。"),
        ),
        "en": Words(
            "Webhook endpoint disabled: {{ endpoint_url }}",
            ("The webhook endpoint {{ endpoint_url }} was disabled and gets no more events."
             " Reason: {{ reason }}",
             "Once the receiver is fixed, enable it again and replay the events it missed."),
        ),
    },
    # Account notices: registration answers the same whether or not an account exists, so
    # these say what happened to whoever reads the mailbox.
    "email_changed": {
        "zh-TW": Words(
            "您的帳號電子郵件已變更",
            (
                "您帳號的電子郵件已由 {{ old_email }} 變更為 {{ new_email }}。",
                "若非您本人操作，請立即聯絡我們，並使用「忘記密碼」重設密碼。",
            ),
        ),
        "en": Words(
            "The e-mail address of your account was changed",
            (
                "The e-mail address of your account was changed from {{ old_email }} to "
                "{{ new_email }}.",
                "If you did not do this, contact us at once and reset your password.",
            ),
        ),
    },
    "registration_existing": {
        "zh-TW": Words(
            "有人以您的電子郵件註冊",
            (
                "有人嘗試以此電子郵件註冊新帳號，但此信箱已有帳號（使用者名稱 {{ username }}）。",
                "若是您本人，請直接登入；忘記密碼時可使用「忘記密碼」。若非您本人，請忽略此信。",
            ),
        ),
        "en": Words(
            "Someone tried to sign up with your e-mail address",
            (
                "Someone tried to create an account with this address, which already has one "
                "(username {{ username }}).",
                "If it was you, just log in, or reset your password if you forgot it. "
                "If it was not you, ignore this message.",
            ),
        ),
    },
    "registration_refused": {
        "zh-TW": Words(
            "註冊未完成：使用者名稱已被使用",
            ("使用者名稱 {{ username }} 已有人使用，請以其他名稱重新註冊。",),
        ),
        "en": Words(
            "Sign-up not completed: the username is taken",
            ("The username {{ username }} is taken; please sign up with another one.",),
        ),
    },
}

# Keys each template needs beyond the common ones (name, email, seller_name, dashboard_url).
REQUIRED: dict[str, tuple[str, ...]] = {
    "welcome": (),
    "email_changed": ("old_email", "new_email"),
    "registration_existing": ("username",),
    "registration_refused": ("username",),
    "verify_email": ("link",),
    "password_reset": ("link",),
    "payment_confirmation": ("order_number", "plan_name", "amount"),
    "payment_instructions": ("order_number", "plan_name", "amount"),
    "renewal_reminder": ("plan_name", "end_date", "amount", "pay_url"),
    "renewal_payment_link": ("plan_name", "period_start", "period_end", "amount", "pay_url"),
    "payment_failed": ("amount", "pay_url"),
    "subscription_expired": ("plan_name", "end_date"),
    "trial_ended": ("plan_name", "end_date", "amount", "pay_url"),
    "card_agreement_ended": ("plan_name",),
    "einvoice_issued": ("order_number", "einvoice_number"),
    "refund_issued": ("order_number", "refund_amount"),
    "webhook_endpoint_disabled": ("endpoint_url", "reason"),
}

# A customer's own subscription choices (cancel, auto-renew), kept in a module of their own.
TEMPLATES |= {name: {lang: Words(subject, lines) for lang, (subject, lines) in by_lang.items()}
              for name, by_lang in subscription_words.WORDS.items()}
REQUIRED |= subscription_words.REQUIRED

# Text parts are never HTML; the HTML part escapes every value. Optional values render empty
# (and their lines disappear); REQUIRED ones are checked before rendering.
_text_env = Environment(autoescape=False)  # noqa: S701 - plain text, never HTML
_html_env = Environment(autoescape=select_autoescape(default=True))


def language_of(preference: str | None) -> str:
    return "en" if (preference or "").lower().startswith("en") else "zh-TW"


def render(template: str, language: str, values: dict[str, Any]) -> RenderedEmail:
    words = TEMPLATES[template][language_of(language)]
    lang = language_of(language)
    missing = [key for key in REQUIRED[template] if values.get(key) in (None, "")]
    if missing:
        raise ValueError(f"e-mail {template!r} lacks {', '.join(missing)}")
    lines = (_GREETING[lang], *words.lines, _DASHBOARD[lang], _SIGNATURE[lang])
    text_parts: list[str] = []
    html_parts: list[str] = []
    for line in lines:
        if isinstance(line, Link):
            label = _text_env.from_string(line.label).render(values)
            url = _text_env.from_string(line.url).render(values)
            text_parts.append(f"{label}: {url}")
            html_parts.append(f'<p><a href="{escape(url)}">{escape(label)}</a></p>')
            continue
        text = _text_env.from_string(line).render(values).strip()
        if text:
            text_parts.append(text)
            html_parts.append(f"<p>{_html_env.from_string(line).render(values).strip()}</p>")
    subject = " ".join(_text_env.from_string(words.subject).render(values).split())
    body = "\n".join(html_parts)
    html = Markup(
        '<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{subject}</title>'
        "</head><body>{body}</body></html>"
    ).format(lang=lang, subject=subject, body=Markup(body))  # noqa: S704 - parts escaped above
    return RenderedEmail(subject=subject, text="\n\n".join(text_parts) + "\n", html=str(html))
