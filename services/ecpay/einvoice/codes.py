"""Map ECPay's e-invoice answers (RtnCode *and* RtnMsg) onto the error classes.

ECPay's codes fall in no consistent range and the same condition comes back under several
codes, or as RtnCode 0 with only a message (billing RESEARCH §1.2); so each rule matches a
code set or a message fragment. Anything unrecognised is a permanent refusal: a person has to
read it, and retrying an unknown refusal forever helps nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.ecpay.einvoice.errors import (
    EInvoiceAlreadyVoided,
    EInvoiceCutoffPassed,
    EInvoiceDuplicate,
    EInvoiceError,
    EInvoiceHasAllowances,
    EInvoiceNotFound,
    EInvoiceRangeExhausted,
    EInvoiceRefused,
    EInvoiceTransient,
)

SUCCESS = 1


@dataclass(frozen=True)
class Rule:
    error: type[EInvoiceError]
    codes: frozenset[int]
    fragments: tuple[str, ...] = ()

    def matches(self, code: int, message: str) -> bool:
        return code in self.codes or any(fragment in message for fragment in self.fragments)


# First match wins, so the more specific rules come first ("已作廢" before "作廢期限" etc.).
RULES: tuple[Rule, ...] = (
    Rule(EInvoiceTransient, frozenset({9000001}), ("系統忙碌", "財政部", "請稍後再試")),
    Rule(EInvoiceDuplicate, frozenset({10000009, 5070357}), ("自訂編號不可重複", "自訂編號重複")),
    Rule(EInvoiceRangeExhausted, frozenset({1100040}), ("字軌",)),
    Rule(EInvoiceHasAllowances, frozenset({5070450}), ("已有折讓",)),
    Rule(
        EInvoiceAlreadyVoided,
        frozenset({5070453, 2000063}),
        ("已作廢過", "已經作廢", "折讓單已作廢"),
    ),
    Rule(EInvoiceCutoffPassed, frozenset(), ("作廢期限", "逾期作廢", "超過可作廢期間")),
    Rule(EInvoiceNotFound, frozenset({2, 1600003, 4000001, 2000039}), ("查無",)),
)


def classify(code: int, message: str) -> EInvoiceError | None:
    """The error an answer means, or None for success (RtnCode 1)."""
    if code == SUCCESS:
        return None
    for rule in RULES:
        if rule.matches(code, message):
            return rule.error(code, message)
    return EInvoiceRefused(code, message)


def as_int(value: object) -> int:
    """RtnCode/TransCode as an int: documented as integers, but strings have been seen."""
    if isinstance(value, bool):
        raise ValueError(f"not a code: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"not a code: {value!r}")
