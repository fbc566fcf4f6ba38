"""Messages of the staff tools (free extension, payment e-mail resend, failed jobs, exports,
names in the audit log), merged into the main catalog: key → (zh-TW, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "cust.extend": ("免費延長", "Extend for free"),
    "cust.extend_days": ("延長天數", "Days to add"),
    "cust.extend_reason": ("原因（必填，會留在稽核紀錄）", "Why (required, kept in the audit log)"),
    "cust.extend_question": ("確定將 {plan} 免費延長 {days} 天，到 {end}？不會產生訂單或扣款；"
                             "下次續訂從新的到期日開始。",
                             "Extend {plan} by {days} days for free, to {end}? No order and no "
                             "charge; the next renewal starts from the new end date."),
    "cust.extended_ok": ("已延長到 {end}。", "Extended to {end}."),
    "cust.resend_instructions": ("重寄繳費資訊", "Resend the payment instructions"),
    "cust.resend_instructions_question": ("將訂單 {number} 的繳費代碼重寄到 {email}？",
                                          "Send the payment code of order {number} to {email} "
                                          "again?"),
    "cust.resend_confirmation": ("重寄付款確認信", "Resend the payment confirmation"),
    "cust.resend_confirmation_question": ("將訂單 {number} 的付款確認信重寄到 {email}？",
                                          "Send the payment confirmation of order {number} to "
                                          "{email} again?"),
    "cust.export_kind": ("匯出內容", "What to export"),
    "cust.export_kind.invoices": ("發票", "Invoices"),
    "cust.export_kind.customers": ("新客戶", "Customers who joined"),
    "cust.export_kind.orders": ("訂單", "Orders"),
    "cust.export_kind.refunds": ("退款", "Refunds"),
    "cust.export_download": ("下載 CSV", "Download CSV"),
    "jobs.title": ("失敗的背景工作", "Failed jobs"),
    "jobs.empty": ("沒有失敗的背景工作。", "No job has failed."),
    "jobs.queue": ("佇列", "Queue"),
    "jobs.job": ("工作", "Job"),
    "jobs.failed_at": ("失敗時間", "Failed at"),
    "jobs.error": ("錯誤", "Error"),
    "jobs.requeue": ("重新排入佇列", "Requeue"),
    "jobs.requeue_question": ("將 {job}（{queue}）重新排入佇列？會以新的重試次數再執行一次。",
                              "Put {job} ({queue}) back on its queue? It runs again with fresh "
                              "retries."),
    "jobs.requeued": ("已將 {job} 重新排入 {queue}。", "{job} is back on {queue}."),
    "jobs.count": ("共 {n} 筆", "{n} in all"),
    "staff.user_or_email": ("使用者電子郵件或 ID", "User e-mail or ID"),
}
