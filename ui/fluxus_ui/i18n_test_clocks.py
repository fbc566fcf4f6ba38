"""Messages of the staff test-clock page (/staff/test-clocks), merged into the main catalog:
key → (zh-TW, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "clock.title": ("測試時鐘", "Test clocks"),
    "clock.intro": ("測試時鐘有自己的凍結時間；時鐘上的測試客戶只在推進時鐘時續訂、催繳與到期。",
                    "A test clock has a frozen time of its own: its test customers renew, get "
                    "dunned and expire only when the clock is advanced."),
    "clock.disabled": ("此部署未開啟測試時鐘（FLUXUS_TEST_CLOCKS）。",
                       "Test clocks are off in this deployment (FLUXUS_TEST_CLOCKS)."),
    "clock.none": ("還沒有測試時鐘。", "No test clock yet."),
    "clock.refresh": ("重新整理", "Refresh"),
    "clock.create_title": ("建立測試時鐘", "Create a test clock"),
    "clock.name": ("名稱", "Name"),
    "clock.start": ("起始時間（台北時間 YYYY-MM-DD HH:MM，空白為現在）",
                    "Start (Taipei time, YYYY-MM-DD HH:MM; empty for now)"),
    "clock.create": ("建立", "Create"),
    "clock.created": ("已建立測試時鐘 {name}。", "Test clock {name} created."),
    "clock.frozen_time": ("時鐘時間", "Clock time"),
    "clock.status": ("狀態", "Status"),
    "clock.status.ready": ("就緒", "Ready"),
    "clock.status.advancing": ("推進中", "Advancing"),
    "clock.status.failed": ("推進失敗", "Failed"),
    "clock.advancing_to": ("推進至", "Advancing to"),
    "clock.steps": ("已處理的時間點", "Boundaries stepped"),
    "clock.last_error": ("錯誤", "Error"),
    "clock.customers": ("測試客戶數", "Test customers"),
    "clock.advance_to": ("推進至（台北時間 YYYY-MM-DD HH:MM）",
                         "Advance to (Taipei time, YYYY-MM-DD HH:MM)"),
    "clock.advance": ("推進時鐘", "Advance the clock"),
    "clock.advanced": ("時鐘 {name} 正在推進至 {time}；完成後請重新整理。",
                       "Clock {name} is advancing to {time}; refresh to see it done."),
    "clock.time_invalid": ("請以 YYYY-MM-DD HH:MM 輸入時間。",
                           "Type the time as YYYY-MM-DD HH:MM."),
    "clock.not_later": ("測試時鐘只能往後推進：請輸入晚於 {time} 的時間。",
                        "A test clock only moves forward: type a time after {time}."),
    "clock.customer_title": ("新增測試客戶", "Add a test customer"),
    "clock.customer_add": ("建立測試客戶", "Create the test customer"),
    "clock.customer_added": ("已在時鐘 {name} 上建立測試客戶 {email}，可直接登入。",
                             "Test customer {email} created on clock {name}; they can log in."),
    "clock.delete": ("刪除時鐘", "Delete the clock"),
    "clock.delete_question": ("確定刪除測試時鐘 {name}？它的 {n} 位測試客戶將被停用"
                              "（訂單與發票保留）。",
                              "Delete test clock {name}? Its {n} test customers are deactivated "
                              "(their orders and invoices stay)."),
    "clock.deleted": ("已刪除測試時鐘 {name}。", "Test clock {name} deleted."),
}
