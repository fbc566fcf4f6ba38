"""The words of the e-mails about a customer's own subscription choices (cancel, auto-renew),
as plain data: email_templates turns them into templates beside the others."""

from __future__ import annotations

# {template: {language: (subject, lines)}}; lines are Jinja, an empty one disappears.
WORDS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "subscription_cancelled": {
        "zh-TW": (
            "{% if when == 'period_end' %}您的 {{ plan_name }} 方案將於 {{ end_date }} 結束"
            "{% else %}您的 {{ plan_name }} 方案已取消{% endif %}",
            (
                "{% if when == 'period_end' %}您已取消 {{ plan_name }} 方案的續訂：服務可使用至 "
                "{{ end_date }}，之後不再續訂，也不會再扣款。"
                "{% else %}您的 {{ plan_name }} 方案已於 {{ cancelled_on }} 取消，"
                "服務即日停止，之後不會再扣款。{% endif %}",
                "{% if card_agreement %}綠界的信用卡定期定額扣款已一併停止。{% endif %}",
                "{% if refund_total %}本方案已安排退款 {{ refund_total }}，退款完成時會另行通知您。"
                "{% elif when == 'period_end' %}已付款的期間照常使用，因此不退款。"
                "{% else %}取消本身不會退還已付款的期間；若您認為應退款，請回覆此信與我們聯絡。"
                "{% endif %}",
                "{% if when == 'period_end' %}在 {{ end_date }} 之前，您可以在會員中心重新開啟"
                "自動續訂。{% endif %}",
            ),
        ),
        "en": (
            "{% if when == 'period_end' %}Your {{ plan_name }} plan ends on {{ end_date }}"
            "{% else %}Your {{ plan_name }} plan is cancelled{% endif %}",
            (
                "{% if when == 'period_end' %}You cancelled the renewal of your {{ plan_name }} "
                "plan: you keep access until {{ end_date }}, then it ends and nothing more is "
                "charged.{% else %}Your {{ plan_name }} plan was cancelled on {{ cancelled_on }}; "
                "access ends now and nothing more is charged.{% endif %}",
                "{% if card_agreement %}The automatic card payments at ECPay are stopped as "
                "well.{% endif %}",
                "{% if refund_total %}A refund of {{ refund_total }} has been arranged; we will "
                "e-mail you when it is made.{% elif when == 'period_end' %}You keep the period "
                "you paid for, so there is no refund.{% else %}Cancelling does not by itself "
                "refund the period you paid for; if you think you are owed a refund, reply to "
                "this e-mail.{% endif %}",
                "{% if when == 'period_end' %}Until {{ end_date }} you can turn auto-renew back "
                "on from your dashboard.{% endif %}",
            ),
        ),
    },
    "auto_renew_changed": {
        "zh-TW": (
            "{{ plan_name }} 方案的自動續訂已{% if auto_renew %}開啟{% else %}關閉{% endif %}",
            (
                "{% if auto_renew %}您已開啟 {{ plan_name }} 方案的自動續訂：本期於 {{ end_date }} "
                "結束後會以 {{ amount }} 續訂下一期。{% else %}您已關閉 {{ plan_name }} 方案的自動"
                "續訂：服務可使用至 {{ end_date }}，之後不再續訂，也不會再扣款。{% endif %}",
                "{% if not auto_renew and card_agreement %}綠界的信用卡定期定額扣款已一併停止。"
                "{% elif auto_renew and card_agreement_stopped %}先前的信用卡定期扣款已停止，"
                "下一期我們會寄送付款連結給您。{% endif %}",
                "{% if not auto_renew %}已付款的期間照常使用，不退款；在 {{ end_date }} 之前可隨時"
                "重新開啟。{% endif %}",
            ),
        ),
        "en": (
            "Auto-renew {% if auto_renew %}turned on{% else %}turned off{% endif %} for your "
            "{{ plan_name }} plan",
            (
                "{% if auto_renew %}You turned auto-renew on for your {{ plan_name }} plan: when "
                "this period ends on {{ end_date }} it renews for {{ amount }}.{% else %}You "
                "turned auto-renew off for your {{ plan_name }} plan: you keep access until "
                "{{ end_date }}, then it ends and nothing more is charged.{% endif %}",
                "{% if not auto_renew and card_agreement %}The automatic card payments at ECPay "
                "are stopped as well.{% elif auto_renew and card_agreement_stopped %}The earlier "
                "automatic card payments stay stopped; we will e-mail you a payment link for the "
                "next period.{% endif %}",
                "{% if not auto_renew %}You keep the period you paid for, so there is no refund;"
                " you can turn auto-renew back on any time before {{ end_date }}.{% endif %}",
            ),
        ),
    },
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "subscription_cancelled": ("plan_name", "when"),
    "auto_renew_changed": ("plan_name", "end_date"),
}
