"""Password hashing (bcrypt) and the rules a new password must pass."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache

import bcrypt

from services.core.errors import FieldProblem, ValidationError

# bcrypt cost factor; tests lower it by patching this module attribute.
BCRYPT_ROUNDS = 12
MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores (bcrypt 5 refuses) anything longer
MAX_SIMILARITY = 0.7

# The most common passwords of public breach corpora (lower-cased); a deliberately short list
# of the ones people actually type, all at least MIN_LENGTH long.
_COMMON = """
password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword
12345678 123456789 1234567890 0123456789 11111111 00000000 87654321 12341234 11223344
qwertyui qwerty123 qwertyuiop 1qaz2wsx 1q2w3e4r 1q2w3e4r5t zaq12wsx qazwsxedc asdfghjkl
abcd1234 abc12345 abcdefgh iloveyou iloveyou1 sunshine princess football baseball
superman batman123 starwars whatever trustno1 letmein1 letmein123 welcome1 welcome123
admin123 administrator changeme changeme1 computer internet michelle jennifer
dragon123 monkey123 master123 shadow123 freedom1 mustang1 charlie1 jordan23 hello123
loveyou1 secret123 default1 test1234 testtest guest123 iloveyou2 password! qwerty12
aa123456 a1234567 asdf1234 asdfasdf zxcvbnm1 zxcvbnm123 qwer1234 1234qwer 123qweasd
123abc456 abc123456 chocolate basketball 88888888 66666666 99999999 12121212 13131313
"""
COMMON_PASSWORDS = frozenset(_COMMON.split())


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> bytes:
    return bcrypt.hashpw(b"fluxus-timing-equaliser", bcrypt.gensalt(rounds))


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()


def check_password(password: str, password_hash: str | None) -> bool:
    """True when `password` matches; costs one bcrypt check even without a hash (so unknown
    accounts answer as slowly as known ones)."""
    raw = password.encode()
    if password_hash is None or len(raw) > MAX_BYTES:
        bcrypt.checkpw(b"x", _dummy_hash(BCRYPT_ROUNDS))
        return False
    try:
        return bcrypt.checkpw(raw, password_hash.encode())
    except ValueError:  # not a bcrypt hash (e.g. an account with no usable password)
        return False


def _similar(password: str, attribute: str) -> bool:
    """Django's rule (close by SequenceMatcher ratio to the value or one of its parts), plus
    containment of the whole value."""
    value = attribute.lower()
    if len(value) < 3:
        return False
    if value in password:
        return True
    parts = {value, *re.split(r"\W+", value)}
    return any(
        len(part) >= 3 and SequenceMatcher(a=password, b=part).ratio() >= MAX_SIMILARITY
        for part in parts
    )


def password_problems(password: str, *, username: str = "", email: str = "") -> list[str]:
    """Everything wrong with a proposed password (empty when it is acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(FieldProblem("password_too_short",
                                     f"Use at least {MIN_LENGTH} characters."))
    if len(password.encode()) > MAX_BYTES:
        problems.append(FieldProblem("password_too_long", f"Use at most {MAX_BYTES} bytes."))
    if password.isdigit():
        problems.append(FieldProblem("password_only_digits", "Do not use only digits."))
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        problems.append(FieldProblem("password_too_common", "This password is too common."))
    local_part = email.split("@", 1)[0]
    if any(_similar(lowered, value) for value in (username, email, local_part)):
        problems.append(FieldProblem("password_too_similar",
                                     "This password is too close to your username or e-mail."))
    return problems


def validate_password(password: str, *, username: str = "", email: str = "",
                      field: str = "password") -> None:
    problems = password_problems(password, username=username, email=email)
    if problems:
        raise ValidationError("The password is not acceptable.", errors={field: problems})
