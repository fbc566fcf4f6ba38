"""Message catalogs: Traditional Chinese (default) and English, and how to format for each."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from fluxus_ui import i18n_audit as audit_messages
from fluxus_ui import i18n_backoffice as backoffice_messages
from fluxus_ui import i18n_field_errors as field_error_messages
from fluxus_ui import i18n_pager as pager_messages
from fluxus_ui import i18n_staff_tools as staff_tool_messages
from fluxus_ui import i18n_test_clocks as test_clock_messages

LANGUAGES = {"zh-TW": "繁體中文", "en": "English"}
DEFAULT_LANGUAGE = "zh-TW"
TAIPEI = ZoneInfo("Asia/Taipei")

# key: (zh-TW, en). One table keeps the two languages side by side, so none goes missing.
_MESSAGES: dict[str, tuple[str, str]] = {
    "brand": ("Fluxus 訂閱管理", "Fluxus Billing"),
    "nav.dashboard": ("總覽", "Dashboard"),
    "nav.plans": ("方案", "Plans"),
    "nav.orders": ("訂單", "Orders"),
    "nav.invoices": ("發票", "Invoices"),
    "nav.account": ("帳戶", "Account"),
    "nav.staff": ("管理後台", "Staff"),
    "nav.logout": ("登出", "Log out"),
    "nav.login": ("登入", "Log in"),
    "nav.register": ("註冊", "Register"),
    "language": ("語言", "Language"),
    "loading": ("載入中…", "Loading…"),
    "error.api_down": (
        "目前無法連線到服務，請稍後再試。",
        "The service cannot be reached right now. Please try again shortly.",
    ),
    "error.session_expired": (
        "登入已逾時，請重新登入。", "Your session has expired. Please log in again."
    ),
    "error.generic": ("發生錯誤：{message}", "Something went wrong: {message}"),
    "error.not_found": ("找不到這筆資料。", "Not found."),
    "error.required": ("此欄位為必填", "This field is required"),
    "error.password_mismatch": ("兩次輸入的密碼不一致", "The passwords do not match"),
    "error.staff_only": ("此頁面僅限管理人員。", "Staff only."),
    "login.title": ("登入", "Log in"),
    "login.login": ("使用者名稱或電子郵件", "Username or e-mail"),
    "login.password": ("密碼", "Password"),
    "login.submit": ("登入", "Log in"),
    "login.failed": ("帳號或密碼錯誤", "Wrong username or password"),
    "login.no_account": ("還沒有帳號？", "No account yet?"),
    "register.title": ("建立帳號", "Create an account"),
    "register.username": ("使用者名稱", "Username"),
    "register.email": ("電子郵件", "E-mail"),
    "register.password": ("密碼（至少 8 個字元）", "Password (8 characters or more)"),
    "register.password2": ("確認密碼", "Confirm password"),
    "register.submit": ("註冊", "Register"),
    "register.done": ("註冊成功，請登入。", "Registered. Please log in."),
    "dash.title": ("總覽", "Dashboard"),
    "dash.no_subscription": ("您目前沒有訂閱任何方案。", "You have no subscription yet."),
    "dash.choose_plan": ("選擇方案", "Choose a plan"),
    "dash.plan": ("方案", "Plan"),
    "dash.status": ("狀態", "Status"),
    "dash.period": ("本期", "Current period"),
    "dash.next_renewal": ("下次續訂", "Next renewal"),
    "dash.auto_renew": ("自動續訂", "Auto-renew"),
    "dash.paid_this_year": ("今年已付金額", "Paid this year"),
    "dash.recent_orders": ("最近訂單", "Recent orders"),
    "dash.recent_invoices": ("最近發票", "Recent invoices"),
    "banner.pending_code": (
        "訂單 {number} 待付款：請於 {expire} 前完成繳費（{method}）。",
        "Order {number} awaits payment: pay by {expire} ({method}).",
    ),
    "banner.pending": ("訂單 {number} 尚未付款。", "Order {number} has not been paid yet."),
    "banner.past_due": (
        "您的訂閱已逾期未付款，請盡快付款以免服務中斷。",
        "Your subscription is past due. Please pay to keep your service.",
    ),
    "banner.trial_ending": (
        "試用期將於 {date} 結束。", "Your trial ends on {date}.",
    ),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "plans.title": ("方案", "Plans"),
    "plans.popular": ("最受歡迎", "Most popular"),
    "plans.trial": ("免費試用 {days} 天", "{days}-day free trial"),
    "plans.choose": ("選擇此方案", "Choose this plan"),
    "plans.method": ("付款方式", "Payment method"),
    "plans.checkout": ("前往付款", "Check out"),
    "plans.redirecting": ("正在前往付款頁面…", "Taking you to the payment page…"),
    "plans.continue": ("繼續付款", "Continue to payment"),
    "plans.coupon": ("折扣碼（選填）", "Coupon code (optional)"),
    "plans.paid_without_gateway": ("折扣已付清此訂單，不需前往綠界付款。",
                                   "The discount covers this order: nothing to pay at ECPay."),
    "coupon.coupon_unknown": ("查無此折扣碼。", "There is no such coupon code."),
    "coupon.coupon_expired": ("此折扣碼已過期。", "This coupon has expired."),
    "coupon.coupon_exhausted": ("此折扣碼已達使用上限。", "This coupon has been used up."),
    "coupon.coupon_not_for_plan": ("此折扣碼不適用於這個方案。",
                                   "This coupon does not apply to this plan."),
    "plans.already": ("您已訂閱此方案。", "You already subscribe to this plan."),
    "plans.none": ("目前沒有可訂閱的方案。", "No plans are available."),
    "cycle.monthly": ("每月", "per month"),
    "cycle.quarterly": ("每季", "per quarter"),
    "cycle.yearly": ("每年", "per year"),
    "cycle.weekly": ("每週", "per week"),
    "method.credit_card": ("信用卡", "Credit card"),
    "method.atm": ("ATM 轉帳", "ATM transfer"),
    "method.cvs": ("超商代碼", "Convenience-store code"),
    "method.barcode": ("超商條碼", "Convenience-store barcode"),
    "status.pending": ("待付款", "Pending"),
    "status.processing": ("等待繳費", "Awaiting payment"),
    "status.completed": ("已付款", "Paid"),
    "status.failed": ("付款失敗", "Failed"),
    "status.cancelled": ("已取消", "Cancelled"),
    "status.expired": ("已過期", "Expired"),
    "status.refunded": ("已退款", "Refunded"),
    "status.trial": ("試用中", "Trial"),
    "status.active": ("使用中", "Active"),
    "status.past_due": ("逾期未付", "Past due"),
    "orders.title": ("訂單", "Orders"),
    "orders.number": ("訂單編號", "Order number"),
    "orders.date": ("日期", "Date"),
    "orders.amount": ("金額", "Amount"),
    "orders.method": ("付款方式", "Method"),
    "orders.status": ("狀態", "Status"),
    "orders.none": ("尚無訂單。", "No orders yet."),
    "orders.detail": ("訂單 {number}", "Order {number}"),
    "orders.view": ("查看", "View"),
    "orders.pay_now": ("立即付款", "Pay now"),
    "orders.refresh": ("重新整理", "Refresh"),
    "orders.instructions": ("繳費資訊", "How to pay"),
    "orders.waiting": (
        "我們正在確認您的付款，完成後此頁會顯示「已付款」。",
        "We are confirming your payment; this page shows “Paid” once it is done.",
    ),
    "pay.bank_code": ("銀行代碼", "Bank code"),
    "pay.account": ("繳費帳號", "Account number"),
    "pay.payment_no": ("繳費代碼", "Payment code"),
    "pay.barcode": ("條碼 {n}", "Barcode {n}"),
    "pay.expire": ("繳費期限", "Pay by"),
    "inv.title": ("發票", "Invoices"),
    "inv.number": ("發票號碼", "Invoice number"),
    "inv.date": ("開立日期", "Issued"),
    "inv.net": ("銷售額（未稅）", "Net amount"),
    "inv.tax": ("營業稅 5%", "Business tax 5%"),
    "inv.total": ("總計", "Total"),
    "inv.buyer": ("買受人", "Buyer"),
    "inv.tax_id": ("統一編號", "Tax ID"),
    "inv.download": ("下載 PDF", "Download PDF"),
    "inv.pdf_missing": ("發票 PDF 暫時無法下載，請稍後再試。",
                        "The invoice PDF cannot be downloaded right now. Please try later."),
    "inv.none": ("尚無發票。", "No invoices yet."),
    "inv.detail": ("發票 {number}", "Invoice {number}"),
    "einv.section": ("發票設定", "Invoice details"),
    "einv.intro": (
        "每筆付款都會開立電子發票，請選擇收取方式。",
        "Every payment gets a Taiwan e-invoice (電子發票). Choose how to receive it.",
    ),
    "einv.kind": ("發票類型", "Invoice type"),
    "einv.kind.cloud": (
        "綠界會員載具（寄到電子郵件）", "ECPay member carrier (sent to your e-mail)"
    ),
    "einv.kind.mobile_barcode": ("手機條碼", "Mobile barcode (手機條碼)"),
    "einv.kind.certificate": ("自然人憑證", "Citizen digital certificate (自然人憑證)"),
    "einv.kind.donation": ("捐贈發票", "Donate the invoice (捐贈)"),
    "einv.kind.company": ("公司（統一編號）", "Company (tax ID 統一編號)"),
    "einv.field.carrier_num": ("載具號碼", "Carrier number"),
    "einv.field.barcode": ("手機條碼", "Mobile barcode"),
    "einv.field.certificate": ("自然人憑證號碼", "Certificate number"),
    "einv.field.love_code": ("捐贈碼（愛心碼）", "Donation code (愛心碼)"),
    "einv.field.tax_id": ("統一編號", "Tax ID (統一編號)"),
    "einv.field.company_name": ("公司名稱（發票抬頭）", "Company name (on the invoice)"),
    "einv.field.company_print": ("列印紙本發票並寄送", "Print a paper invoice and post it"),
    "einv.field.address": ("寄送地址", "Postal address"),
    "einv.hint.cloud": (
        "發票存入綠界會員載具，開立通知寄到 {email}；中獎會通知您。",
        "The invoice is kept in your ECPay member carrier; the notice goes to {email} and "
        "you are told if it wins the lottery.",
    ),
    "einv.hint.barcode": (
        "「/」加 7 碼英數字或 . + -，例如 /ABC+123", "“/” then 7 of A–Z, 0–9, . + -, e.g. /ABC+123"
    ),
    "einv.hint.certificate": (
        "2 個大寫英文字母加 14 位數字，例如 AB12345678901234",
        "2 capital letters and 14 digits, e.g. AB12345678901234",
    ),
    "einv.hint.love_code": (
        "3 至 7 位數字，例如 919（創世基金會）",
        "3 to 7 digits, e.g. 919 (Genesis Social Welfare Foundation)",
    ),
    "einv.hint.tax_id": ("8 位數字", "8 digits"),
    "einv.hint.company": (
        "不列印時，發票存入綠界會員載具並寄送通知到您的電子郵件。",
        "Unless printed, the invoice is kept in the ECPay member carrier and the notice is "
        "e-mailed to you.",
    ),
    "einv.save": ("儲存發票設定", "Save invoice details"),
    "einv.saved": ("發票設定已儲存。", "Invoice details saved."),
    "einv.invalid": ("請修正標示的發票欄位。", "Please correct the invoice fields marked."),
    "einv.problem.required": ("此欄位為必填", "This field is required"),
    "einv.problem.barcode_format": (
        "手機條碼格式不正確：「/」加 7 碼英數字或 . + -",
        "Not a mobile barcode: “/” then 7 of A–Z, 0–9, . + -",
    ),
    "einv.problem.certificate_format": (
        "自然人憑證號碼為 2 個英文字母加 14 位數字",
        "A certificate number is 2 letters and 14 digits",
    ),
    "einv.problem.love_code_format": ("捐贈碼為 3 至 7 位數字", "A donation code is 3 to 7 digits"),
    "einv.problem.tax_id_format": ("統一編號為 8 位數字", "A tax ID (統一編號) is 8 digits"),
    "einv.problem.tax_id_checksum": (
        "此統一編號不存在，請檢查是否輸入錯誤", "This tax ID does not exist; check for a typo"
    ),
    "einv.summary": ("電子發票：{what}", "E-invoice: {what}"),
    "einv.summary.cloud": ("存入綠界會員載具（{email}）", "ECPay member carrier ({email})"),
    "einv.summary.mobile_barcode": ("手機條碼 {number}", "Mobile barcode {number}"),
    "einv.summary.certificate": ("自然人憑證 {number}", "Citizen certificate {number}"),
    "einv.summary.donation": ("捐贈 {code}", "Donated (code {code})"),
    "einv.summary.company": (
        "公司 統編 {tax_id}（{name}）", "Company, tax ID {tax_id} ({name})"
    ),
    "einv.summary.company_print": (
        "公司 統編 {tax_id}（{name}），紙本寄至 {address}",
        "Company, tax ID {tax_id} ({name}), paper copy posted to {address}",
    ),
    "einv.this_order": ("本訂單的發票", "This order's invoice"),
    "einv.change": ("變更此訂單的發票", "Change for this order"),
    "einv.use_account": ("使用帳戶的發票設定", "Use my account's invoice details"),
    "einv.order_only": (
        "只套用於這筆訂單；帳戶的發票設定不變。",
        "Applies to this order only; your account's invoice details stay as they are.",
    ),
    "einv.title": ("電子發票", "E-invoice"),
    "einv.number": ("統一發票號碼", "Uniform invoice number"),
    "einv.date": ("發票日期", "Invoice date"),
    "einv.random": ("隨機碼", "Random number"),
    "einv.carrier": ("載具", "Carrier"),
    "einv.carrier.member": ("綠界會員載具", "ECPay member carrier"),
    "einv.carrier.barcode": ("手機條碼 {number}", "Mobile barcode {number}"),
    "einv.carrier.certificate": ("自然人憑證 {number}", "Citizen certificate {number}"),
    "einv.donated": ("捐贈", "Donated"),
    "einv.donated_to": ("捐贈碼 {code}", "Donation code {code}"),
    "einv.buyer_tax_id": ("買方統編", "Buyer's tax ID"),
    "einv.status.issued": ("已開立", "Issued"),
    "einv.status.voided": ("已作廢", "Voided"),
    "einv.note.pending": (
        "電子發票開立中，完成後會在這裡顯示發票號碼。",
        "The e-invoice is being issued; its number appears here once it is done.",
    ),
    "einv.note.failed": (
        "電子發票開立時發生問題，已通知客服人員處理，完成後會顯示在這裡。",
        "Issuing the e-invoice ran into a problem. Our staff have been told and will fix it; "
        "it appears here once issued.",
    ),
    "einv.note.disabled": (
        "此筆交易的統一發票由商家另行開立。",
        "The merchant issues the uniform invoice for this sale separately.",
    ),
    "einv.note.zero_total": (
        "金額為 0 元，不開立發票。", "Nothing was charged, so no invoice is issued."
    ),
    "einv.note.predates": (
        "此筆交易早於電子發票上線，未開立電子發票。",
        "This sale predates e-invoicing; no e-invoice was issued for it.",
    ),
    "einv.note.not_issued": ("此筆交易未開立電子發票。", "No e-invoice was issued for this sale."),
    "einv.note.voided": ("此電子發票已作廢。", "This e-invoice has been voided."),
    "einv.pending_short": ("開立中", "Being issued"),
    "acct.title": ("帳戶", "Account"),
    "acct.profile": ("個人資料", "Profile"),
    "acct.first_name": ("名字", "First name"),
    "acct.last_name": ("姓氏", "Last name"),
    "acct.phone": ("電話", "Phone"),
    "acct.company": ("公司名稱", "Company"),
    "acct.tax_id": ("統一編號", "Tax ID (統編)"),
    "acct.save": ("儲存", "Save"),
    "acct.saved": ("已儲存。", "Saved."),
    "acct.password": ("變更密碼", "Change password"),
    "acct.old_password": ("目前密碼", "Current password"),
    "acct.new_password": ("新密碼", "New password"),
    "acct.password_changed": (
        "密碼已變更，請重新登入。", "Password changed. Please log in again."
    ),
    "acct.subscription": ("訂閱", "Subscription"),
    "acct.cancel_now": ("立即取消", "Cancel now"),
    "acct.renew_on": ("開啟自動續訂", "Turn auto-renew on"),
    "acct.cancel_end": (
        "關閉自動續訂（本期結束時取消）", "Turn off auto-renew (cancel at period end)"
    ),
    "acct.cancelled": ("訂閱已更新。", "Subscription updated."),
    "acct.card_agreement": ("信用卡定期扣款", "Automatic card payments"),
    "agreement.active": ("扣款中", "Active"),
    "agreement.cancelling": ("取消中（等待綠界確認）", "Cancelling (waiting for ECPay to confirm)"),
    "agreement.cancelled": ("已取消", "Cancelled"),
    "agreement.ended": ("已由綠界停止", "Stopped by ECPay"),
    "acct.will_cancel": ("將於 {date} 結束", "Ends on {date}"),
    "staff.title": ("管理後台", "Staff"),
    "staff.customers": ("客戶", "Customers"),
    "staff.subscriptions": ("訂閱", "Subscriptions"),
    "staff.payments": ("待處理與失敗付款", "Pending and failed payments"),
    "staff.metrics": ("MRR 與有效訂閱", "MRR and active subscriptions"),
    "staff.audit": ("稽核紀錄", "Audit log"),
    "staff.search": ("搜尋", "Search"),
    "staff.status_filter": ("狀態", "Status"),
    "staff.all": ("全部", "All"),
    "staff.action": ("動作", "Action"),
    "staff.user_id": ("使用者 ID", "User ID"),
    "staff.resource": ("資源", "Resource"),
    "staff.since": ("起始", "From"),
    "staff.until": ("結束", "Until"),
    "staff.mrr": ("MRR（新台幣）", "MRR (TWD)"),
    "staff.active": ("有效訂閱數", "Active subscriptions"),
    "staff.month": ("月份", "Month"),
    "col.username": ("使用者", "User"),
    "col.email": ("電子郵件", "E-mail"),
    "col.joined": ("加入日期", "Joined"),
    "col.subscriptions": ("訂閱", "Subscriptions"),
    "col.user": ("使用者", "User"),
    "col.time": ("時間", "Time"),
    "col.description": ("說明", "Description"),
    "col.ip": ("IP", "IP"),
    "col.start": ("開始", "Start"),
    "col.end": ("結束", "End"),
    # --- dashboard, second version (#18) ---
    "login.forgot": ("忘記密碼？", "Forgot your password?"),
    "orders.retry": ("重新付款", "Try paying again"),
    "orders.failed_before": ("上次付款未成功：{reason}",
                             "The last payment did not go through: {reason}"),
    "orders.waiting_atm": ("等待您的 ATM 轉帳，期限至 {expire}",
                           "Waiting for your ATM transfer until {expire}"),
    "orders.waiting_cvs": ("等待您到超商繳費，期限至 {expire}",
                           "Waiting for your payment at a convenience store until {expire}"),
    "orders.waiting_barcode": ("等待您持條碼到超商繳費，期限至 {expire}",
                               "Waiting for your barcode payment at a store until {expire}"),
    "orders.waiting_credit_card": ("等待信用卡付款結果", "Waiting for the card payment's result"),
    "pay.copy": ("複製", "Copy"),
    "pay.copied": ("已複製", "Copied"),
    "dash.ended": ("已結束的訂閱", "Ended subscriptions"),
    "sub.manage": ("管理訂閱", "Manage"),
    "acct.other_subscriptions": ("其他訂閱", "Other subscriptions"),
    "sub.no_period": ("付款後開始", "Starts when paid"),
    "sub.trial_until": ("免費試用至", "Free trial until"),
    "sub.next_charge": ("下次扣款", "Next charge"),
    "sub.charge": ("{date} {amount}（{method}）", "{amount} on {date} ({method})"),
    "sub.by_card": ("信用卡自動扣款", "charged to your card"),
    "sub.by_order": ("屆時以您選擇的方式付款", "you pay by the method you choose then"),
    "sub.no_charge": ("不再扣款", "No more charges"),
    "sub.ends_on": ("不再扣款，服務至 {date} 結束", "No more charges; service ends on {date}"),
    "sub.no_agreement": ("未設定", "None"),
    "sub.cancelled_now": ("訂閱已取消。", "The subscription is cancelled."),
    "sub.confirm_title": ("確定要立即取消嗎？", "Cancel now?"),
    "sub.confirm_paid": (
        "服務會立即停止，已付費期間（至 {date}）的剩餘天數將失效；已付款項不會自動退款，"
        "如需退款請聯絡客服。之後不會再扣款。",
        "Service stops at once and the rest of the paid period (until {date}) is lost; what "
        "you paid is not refunded automatically (contact support for a refund). Nothing more "
        "will be charged.",
    ),
    "sub.confirm_trial": (
        "免費試用會立即結束；若已為下一期付款，款項不會自動退款，如需退款請聯絡客服。"
        "之後不會再扣款。",
        "The free trial ends at once; a payment already made for the next period is not "
        "refunded automatically (contact support for a refund). Nothing more will be charged.",
    ),
    "sub.confirm_unpaid": (
        "此訂閱尚未付款，取消後待付款的訂單也會關閉，不會扣款。",
        "This subscription is unpaid: cancelling closes its open orders and nothing is charged.",
    ),
    "sub.confirm_yes": ("確定取消", "Yes, cancel now"),
    "sub.confirm_no": ("保留訂閱", "Keep the subscription"),
    # Plan change (#17) and refunds shown to the customer.
    "change.button": ("變更方案", "Change plan"),
    "change.title": ("變更方案：{plan}", "Change plan: {plan}"),
    "change.current": ("目前方案", "Current plan"),
    "change.none": ("目前沒有其他可變更的方案。", "There is no other plan to change to."),
    "change.see": ("查看變更明細", "See what changes"),
    "change.upgrade": ("升級", "Upgrade"),
    "change.downgrade": ("降級", "Downgrade"),
    "change.due_today": ("今天需付款 {amount}（含 5% 營業稅 {tax}）",
                         "Charged today: {amount} (incl. 5% business tax {tax})"),
    "change.credited_today": ("今天存入您的帳戶餘額 {amount}",
                              "Credited to your balance today: {amount}"),
    "change.nothing_today": ("今天不收費", "Nothing is charged today"),
    "change.credit_line": ("原方案剩餘 {days} 天的折抵", "Credit for the {days} unused days"),
    "change.charge_line": ("新方案剩餘 {days} 天的費用", "The new plan for the {days} days left"),
    "change.balance_used": ("使用帳戶餘額", "From your credit balance"),
    "change.effective": ("生效時間", "Takes effect"),
    "change.effective_paid": ("付款完成後立即生效", "As soon as it is paid"),
    "change.effective_now": ("立即", "Now"),
    "change.effective_end": ("本期結束時（{date}）", "At the end of this period ({date})"),
    "change.renewal": ("之後每期續訂價格", "Renews afterwards at"),
    "change.method": ("付款方式", "Pay with"),
    "change.confirm": ("確認變更", "Confirm the change"),
    "change.confirm_pay": ("確認並付款 {amount}", "Confirm and pay {amount}"),
    "change.scheduled_done": ("已排定於 {date} 變更為 {plan}。",
                              "The change to {plan} is scheduled for {date}."),
    "change.applied": ("方案已變更為 {plan}。", "Your plan is now {plan}."),
    "change.pay_to_switch": ("付款完成後即改為 {plan}。", "Pay to switch to {plan}."),
    "change.scheduled": ("已排定變更", "Scheduled change"),
    "change.scheduled_text": ("將於 {date} 改為 {plan}", "Changes to {plan} on {date}"),
    "change.awaiting_text": ("升級至 {plan} 待付款", "The upgrade to {plan} awaits payment"),
    "change.cancel_scheduled": ("取消排定的變更", "Cancel scheduled change"),
    "change.cancelled": ("已取消排定的方案變更。", "The scheduled change is cancelled."),
    "change.not_changeable": ("此訂閱目前無法變更方案（須為已付款且使用中）。",
                              "This subscription cannot change plan now (it must be active "
                              "and paid)."),
    "refund.title": ("退款", "Refunds"),
    "refund.amount": ("金額", "Amount"),
    "refund.state": ("狀態", "State"),
    "refund.date": ("日期", "Date"),
    "refund.total": ("已退還 {amount}", "{amount} refunded"),
    "refund.status.requested": ("已申請", "Requested"),
    "refund.status.sent": ("處理中", "Sent to the bank"),
    "refund.status.succeeded": ("已退款", "Refunded"),
    "refund.status.failed": ("處理中", "In progress"),
    "refund.status.owed": ("待匯款", "Owed (bank transfer)"),
    "refund.status.confirmed": ("已匯款", "Transferred"),
    "credit.balance": ("帳戶餘額：{amount}，將優先折抵下一筆訂單。",
                       "Credit balance: {amount}, used first on your next order."),
    "checkout.today": ("今天收費 {amount}", "Charged today: {amount}"),
    "checkout.tax": ("含 5% 營業稅 {tax}", "Includes 5% tax ({tax})"),
    "checkout.period": ("本次付款涵蓋 {start} – {end}", "This payment covers {start} – {end}"),
    "checkout.trial": (
        "免費試用 {days} 天，至 {date} 止；今天付款後試用照常，付費期間自試用結束起算",
        "Free trial of {days} days until {date}: paying today keeps it, and the paid period "
        "starts when it ends",
    ),
    "checkout.renews_card": (
        "信用卡定期定額：之後{cycle}由綠界自動以此卡扣款 {amount}，關閉自動續訂即停止扣款",
        "Card agreement: ECPay then charges {amount} {cycle} to this card until you turn "
        "auto-renew off",
    ),
    "checkout.renews_card_after_trial": (
        "試用期間的信用卡付款為單次付款；定期定額於試用結束後第一次以信用卡付款時設定，之後{cycle}"
        "由綠界自動扣款 {amount}。若試用期間未付款，試用結束時會寄送付款連結",
        "A card payment in the trial pays once; automatic card payments start with your first "
        "card payment after the trial, then ECPay charges {amount} {cycle}. Not paid in the "
        "trial? We e-mail you a payment link when it ends",
    ),
    "checkout.renews_order": (
        "之後{cycle}到期前會產生 {amount} 的續訂訂單，由您自行付款；可隨時關閉自動續訂",
        "Then a renewal order of {amount} is created {cycle} before the period ends, for you "
        "to pay; turn auto-renew off at any time",
    ),
    "recover.forgot_title": ("忘記密碼", "Forgot password"),
    "recover.forgot_intro": ("輸入註冊的電子郵件，我們會寄送重設密碼的連結。",
                             "Enter your account's e-mail and we will send a link to set a "
                             "new password."),
    "recover.send": ("寄送重設連結", "Send the link"),
    "recover.sent": ("若此電子郵件屬於某個帳號，重設連結已寄出，請查收信件。",
                     "If the address belongs to an account, a reset link is on its way."),
    "recover.reset_title": ("設定新密碼", "Set a new password"),
    "recover.reset_submit": ("儲存新密碼", "Save the new password"),
    "recover.reset_done": ("密碼已重設，請以新密碼登入。",
                           "Your password is changed; log in with the new one."),
    "recover.link_invalid": ("此連結無效或已過期，請重新申請。",
                             "This link is invalid or has expired; ask for a new one."),
    "queue.reviews": ("付款待審", "Payment review queue"),
    "queue.reviews_empty": ("沒有待審的付款。", "No payments wait for review."),
    "queue.einvoices": ("電子發票開立失敗", "Failed e-invoices"),
    "queue.einvoices_empty": ("沒有開立失敗的電子發票。", "No e-invoice has failed."),
    "queue.reason": ("原因", "Reason"),
    "queue.arrived": ("款項到達", "Money arrived"),
    "queue.decision": ("處理結果", "Decision"),
    "queue.note": ("處理說明（必填）", "What was done, and why (required)"),
    "queue.resolve": ("記錄處理結果", "Record the decision"),
    "queue.resolved": ("已記錄處理結果。", "The decision is recorded."),
    "queue.attempts": ("嘗試次數", "Attempts"),
    "queue.last_error": ("綠界最後回覆", "ECPay's last answer"),
    "queue.retry": ("重新開立", "Issue again"),
    "queue.retried": ("已重新送出 {number} 的電子發票。",
                      "The e-invoice of {number} is sent again."),
    "review.duplicate_payment": ("訂單已由另一筆付款完成", "The order was already paid"),
    "review.order_closed": ("訂單關閉後才付款", "Paid after the order was closed"),
    "review.subscription_closed": ("訂閱已結束", "The subscription had ended"),
    "review.charge_after_cancel": ("取消定期扣款後仍扣款",
                                   "Charged after the card agreement ended"),
    "review.period_already_paid": ("該期已付款", "The period was already paid"),
    "review.unmatched_charge": ("無對應期間的扣款", "A charge no period can take"),
    "review.unknown_order": ("找不到對應訂單", "Names no order of ours"),
    "review.amount_mismatch": ("金額不符", "The amount does not match"),
    "review.decision.applied": ("已手動入帳", "Applied by hand"),
    "review.decision.refund_needed": ("需退款", "Must be refunded"),
    "review.decision.dismissed": ("無需處理", "Nothing to do"),
    "recover.verify_title": ("驗證電子郵件", "Verify your e-mail"),
    "recover.verified": ("您的電子郵件已完成驗證。", "Your e-mail address is verified."),
    "recover.verify_failed": ("此驗證連結無效或已使用過。",
                              "This verification link is invalid or was already used."),
}


_MESSAGES |= backoffice_messages.MESSAGES
_MESSAGES |= field_error_messages.MESSAGES
_MESSAGES |= test_clock_messages.MESSAGES
_MESSAGES |= staff_tool_messages.MESSAGES
_MESSAGES |= audit_messages.MESSAGES
_MESSAGES |= pager_messages.MESSAGES


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The message for ``key`` in ``lang``; unknown keys show themselves so they get noticed."""
    pair = _MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format(**values) if values else text


# Banks by their three-digit code, so an ATM code reads "812 台新銀行".
_BANKS: dict[str, tuple[str, str]] = {
    "004": ("臺灣銀行", "Bank of Taiwan"), "005": ("土地銀行", "Land Bank of Taiwan"),
    "006": ("合作金庫", "Taiwan Cooperative Bank"), "007": ("第一銀行", "First Bank"),
    "008": ("華南銀行", "Hua Nan Bank"), "009": ("彰化銀行", "Chang Hwa Bank"),
    "012": ("台北富邦", "Taipei Fubon Bank"), "013": ("國泰世華", "Cathay United Bank"),
    "017": ("兆豐銀行", "Mega Bank"), "700": ("中華郵政", "Chunghwa Post"),
    "807": ("永豐銀行", "Bank SinoPac"), "808": ("玉山銀行", "E.SUN Bank"),
    "812": ("台新銀行", "Taishin Bank"), "822": ("中國信託", "CTBC Bank"),
}


def bank_name(code: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The bank's name for its code ("" when unknown)."""
    pair = _BANKS.get(code.strip())
    return "" if pair is None else (pair[1] if lang == "en" else pair[0])


def catalog_keys() -> list[str]:
    return sorted(_MESSAGES)


def money(amount: Decimal, currency: str = "TWD") -> str:
    """NT$1,990 — TWD is whole dollars."""
    if currency == "TWD":
        return f"NT${amount:,.0f}"
    return f"{currency} {amount:,.2f}"


def date(value: datetime | None) -> str:
    """A calendar date as customers in Taiwan read it (Asia/Taipei)."""
    return value.astimezone(TAIPEI).strftime("%Y-%m-%d") if value else "—"


def datetime_text(value: datetime | None) -> str:
    return value.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M") if value else "—"
