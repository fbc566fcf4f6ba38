"""Password rules and hashing, without I/O."""

from __future__ import annotations

import pytest

from services.core.errors import ValidationError
from services.core.usecases import auth_passwords
from services.core.usecases.auth_passwords import (
    check_password,
    hash_password,
    password_problems,
    validate_password,
)

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_passwords, "BCRYPT_ROUNDS", 4)


@pytest.mark.parametrize(
    ("password", "username", "email", "problem"),
    [
        ("abc1234", "", "", "at least 8"),
        ("20260131", "", "", "only digits"),
        ("Password123", "", "", "too common"),
        ("qwertyuiop", "", "", "too common"),
        ("chen.wei88", "chenwei", "", "too close"),
        ("mei-lin-2024", "someone", "mei-lin@example.tw", "too close"),
        ("ü" * 40, "", "", "at most 72 bytes"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, username: str, email: str,
                                                   problem: str) -> None:
    problems = password_problems(password, username=username, email=email)
    assert any(problem in text for text in problems), problems
    with pytest.raises(ValidationError) as raised:
        validate_password(password, username=username, email=email)
    assert raised.value.errors["password"] == problems


@pytest.mark.parametrize("password", ["blue-Kettle-42", "company2024x", "台北 101 夜景很美"])
def test_reasonable_passwords_pass(password: str) -> None:
    assert password_problems(password, username="bob", email="bob@example.com") == []


def test_hashes_verify_only_the_right_password() -> None:
    hashed = hash_password("blue-Kettle-42")
    assert hashed.startswith("$2b$04$")
    assert check_password("blue-Kettle-42", hashed)
    assert not check_password("blue-kettle-42", hashed)
    assert not check_password("blue-Kettle-42", None)
    assert not check_password("blue-Kettle-42", "not-a-bcrypt-hash")
    assert not check_password("x" * 100, hashed)
