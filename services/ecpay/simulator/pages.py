"""Plain HTML pages of the simulated gateway (no external assets)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from services.ecpay.simulator.store import CODE_ISSUED, PENDING, SimOrder

_STYLE = (
    "body{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse}td{padding:.2em .6em;border-bottom:1px solid #ddd}"
    "button{margin:.3em;padding:.5em 1.2em}.note{color:#666}"
    "body.wide{max-width:none}form.act{display:inline}th{text-align:left}"
)


def page(title: str, body: str, *, wide: bool = False) -> str:
    css_class = ' class="wide"' if wide else ""
    return (
        f'<!doctype html><html lang="zh-Hant"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body{css_class}><h1>{escape(title)}</h1>{body}"
        '<p class="note">Fluxus ECPay simulator — no real money moves here.</p></body></html>'
    )


def _button(order: SimOrder, action: str, label: str, method: str = "") -> str:
    hidden = f'<input type="hidden" name="method" value="{escape(method)}">' if method else ""
    url = f"/SimulatorPage/{escape(order.merchant_trade_no)}/{action}"
    return (
        f'<form method="post" action="{url}" style="display:inline">{hidden}'
        f'<button type="submit">{escape(label)}</button></form>'
    )


def _actions(order: SimOrder) -> str:
    choose = order.choose_payment
    if order.status == PENDING:
        buttons = []
        if choose in ("ALL", "Credit"):
            buttons.append(_button(order, "pay", "Pay by card (信用卡付款)", "Credit"))
        for method in ("ATM", "CVS", "BARCODE"):
            if choose in ("ALL", method):
                buttons.append(_button(order, "issue-code", f"Get {method} code (取號)", method))
        buttons.append(_button(order, "fail", "Fail payment (付款失敗)"))
        return "".join(buttons)
    if order.status == CODE_ISSUED:
        return _button(order, "pay", "Customer pays the code (模擬付款)")
    return ""


def _rows(pairs: Mapping[str, str]) -> str:
    return "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in pairs.items())


def order_page(order: SimOrder, message: str = "") -> str:
    summary = {
        "MerchantTradeNo": order.merchant_trade_no,
        "TradeNo": order.trade_no,
        "ItemName": order.fields.get("ItemName", ""),
        "TotalAmount": f"NT$ {order.amount}",
        "ChoosePayment": order.choose_payment,
        "Status": order.status,
    }
    if order.code_info:
        summary |= {
            k: v
            for k, v in order.code_info.items()
            if k
            in (
                "BankCode",
                "vAccount",
                "PaymentNo",
                "Barcode1",
                "Barcode2",
                "Barcode3",
                "ExpireDate",
            )
            and v
        }
    note = f"<p><strong>{escape(message)}</strong></p>" if message else ""
    back = order.fields.get("ClientBackURL", "")
    link = f'<p><a href="{escape(back)}">Back to shop (返回商店)</a></p>' if back else ""
    return page(
        "綠界 ECPay (simulated)",
        f"{note}<table>{_rows(summary)}</table><p>{_actions(order)}</p>{link}",
    )


def auto_post(url: str, fields: Mapping[str, str], title: str) -> str:
    """A form the browser submits by itself (OrderResultURL, ClientRedirectURL)."""
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return page(
        title,
        f'<form method="post" action="{escape(url)}">{inputs}'
        '<button type="submit">Continue</button></form>'
        "<script>document.forms[0].submit()</script>",
    )


def error_page(body: str) -> str:
    return page("ECPay error", f"<p>{escape(body)}</p>")
