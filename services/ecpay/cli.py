"""`fluxus ecpay ...`: protocol tools for operators (CheckMacValue on the command line)."""

from __future__ import annotations

import json
import sys

import click

from services.ecpay.checkmac import CHECK_MAC_FIELD, check_mac_value, verify_check_mac_value


@click.group()
def ecpay() -> None:
    """ECPay protocol tools."""


def _read_params(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"stdin is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise click.UsageError("stdin must hold one JSON object of parameters")
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise click.UsageError(f"parameter values must be strings: {', '.join(sorted(bad))}")
    return data


def _default(option: str) -> str:
    # Settings are read only when a key/IV was not given, so a broken environment does
    # not stop someone who passes both on the command line.
    from services.core.config import get_settings

    return str(getattr(get_settings(), option))


@ecpay.command("check-mac")
@click.option("--hash-key", help="HashKey (default: FLUXUS_ECPAY_HASH_KEY)")
@click.option("--hash-iv", help="HashIV (default: FLUXUS_ECPAY_HASH_IV)")
@click.option(
    "--encrypt-type",
    type=click.Choice(["1", "0"]),
    default="1",
    show_default=True,
    help="1 = SHA256, 0 = MD5",
)
@click.option(
    "--verify",
    "verify",
    is_flag=True,
    help="check the CheckMacValue inside the input: exit 0 if it matches, 1 if not",
)
def check_mac(hash_key: str | None, hash_iv: str | None, encrypt_type: str, verify: bool) -> None:
    """Read a JSON object of parameters on stdin; print its CheckMacValue (or --verify it)."""
    params = _read_params(sys.stdin.read())
    key = hash_key if hash_key is not None else _default("ecpay_hash_key")
    iv = hash_iv if hash_iv is not None else _default("ecpay_hash_iv")
    expected = check_mac_value(params, key, iv, int(encrypt_type))
    if not verify:
        click.echo(expected)
        return
    if CHECK_MAC_FIELD not in params:
        raise click.UsageError(f"--verify needs a {CHECK_MAC_FIELD} in the input")
    if verify_check_mac_value(params, key, iv, int(encrypt_type)):
        click.echo(f"OK: CheckMacValue matches ({expected})")
        return
    click.echo(f"MISMATCH: input has {params[CHECK_MAC_FIELD]}, expected {expected}", err=True)
    sys.exit(1)
