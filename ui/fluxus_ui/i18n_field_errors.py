"""The API's field error codes (``error_codes`` in its envelope) in both languages, merged into
the main catalog as ``field_error.<code>``: key → (zh-TW, en). ``{n0}``, ``{n1}`` are the
numbers in the API's English message ("Use at least 8 characters." → n0 = 8)."""

from __future__ import annotations

_CODES: dict[str, tuple[str, str]] = {
    "required": ("此欄位為必填。", "This field is required."),
    "null": ("此欄位不可為空。", "This field may not be empty."),
    "email_invalid": ("電子郵件格式不正確。", "Not a valid e-mail address."),
    "url_invalid": ("網址格式不正確。", "Not a valid web address."),
    "uuid_invalid": ("識別碼格式不正確。", "Not a valid identifier."),
    "not_a_number": ("請輸入數字。", "Enter a number."),
    "not_an_integer": ("請輸入整數。", "Enter a whole number."),
    "not_a_boolean": ("請選擇是或否。", "Choose yes or no."),
    "not_a_string": ("請輸入文字。", "Enter text."),
    "not_a_list": ("格式不正確。", "Not in the expected form."),
    "not_an_object": ("格式不正確。", "Not in the expected form."),
    "date_invalid": ("日期格式不正確。", "Not a valid date."),
    "datetime_invalid": ("日期時間格式不正確。", "Not a valid date and time."),
    "too_short": ("至少需要 {n0} 個字元。", "Use at least {n0} characters."),
    "too_long": ("最多 {n0} 個字元。", "Use at most {n0} characters."),
    "length_out_of_range": ("長度須為 {n0} 到 {n1} 個字元。", "Use {n0} to {n1} characters."),
    "length_invalid": ("長度須為 {n0} 個字元。", "Use exactly {n0} characters."),
    "too_small": ("數值太小。", "The number is too small."),
    "too_large": ("數值太大。", "The number is too large."),
    "out_of_range": ("數值超出允許範圍。", "The number is out of the allowed range."),
    "invalid_choice": ("不是可用的選項。", "Not one of the allowed choices."),
    "pattern_mismatch": ("格式不正確。", "Not in the expected format."),
    "unknown_field": ("不接受此欄位。", "This field is not accepted."),
    "nul_character": ("不可包含 NUL 字元。", "NUL characters are not allowed."),
    "password_too_short": ("密碼至少需要 {n0} 個字元。", "Use at least {n0} characters."),
    "password_too_long": ("密碼最多 {n0} 個位元組。", "Use at most {n0} bytes."),
    "password_only_digits": ("密碼不可只有數字。", "Do not use only digits."),
    "password_too_common": ("這個密碼太常見了。", "This password is too common."),
    "password_too_similar": ("密碼與使用者名稱或電子郵件太相似。",
                             "Too close to your username or e-mail."),
    "password_wrong": ("密碼錯誤。", "Wrong password."),
    "password_unchanged": ("新密碼不可與目前的密碼相同。", "Same as your current password."),
    "password_mismatch": ("兩次輸入的密碼不一致。", "The passwords do not match."),
    "username_invalid": ("使用者名稱只能包含英文字母、數字與 @ . + - _。",
                         "Letters, digits and @ . + - _ only."),
    "tax_id_invalid": ("統一編號為 8 位數字，或留白。",
                       "The tax ID (統一編號) is 8 digits, or empty."),
    "tax_id_checksum": ("此統一編號不存在，請檢查是否輸入錯誤。",
                        "This tax ID (統一編號) does not exist; check for a typo."),
    "phone_invalid": ("電話只能包含數字與 + ( ) -。", "Digits, +, (, ) and - only."),
    "avatar_url_invalid": ("請輸入公開網站的 https 網址。", "An https address on a public site."),
    "username_taken": ("此使用者名稱已有人使用。", "This username is already taken."),
    "email_taken": ("此電子郵件已註冊過。", "This e-mail address is already registered."),
    "token_invalid": ("連結無效、已使用或已過期。", "The link is invalid, used or expired."),
    "staff_only": ("僅限管理人員。", "Staff only."),
    "superuser_only": ("僅限超級管理員。", "Superusers only."),
    "not_on_own_account": ("不可變更自己的帳戶。", "Not on your own account."),
}

MESSAGES: dict[str, tuple[str, str]] = {f"field_error.{code}": pair
                                        for code, pair in _CODES.items()}
