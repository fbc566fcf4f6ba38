"""The dashboard forwards the browser's address, read only across its trusted proxy hops."""

from __future__ import annotations

import pytest
from fluxus_ui.app import browser_ip

pytestmark = pytest.mark.unit


def test_without_trusted_proxies_the_peer_is_the_browser() -> None:
    assert browser_ip("10.0.0.9", "198.51.100.1", 0) == "10.0.0.9"


def test_one_ingress_hop_gives_the_address_the_ingress_saw() -> None:
    # The leftmost entry is whatever the browser claimed; only the ingress's entry counts.
    assert browser_ip("10.0.0.9", "6.6.6.6, 203.0.113.8", 1) == "203.0.113.8"


def test_fewer_entries_than_hops_falls_back_to_the_peer() -> None:
    assert browser_ip("10.0.0.9", "", 1) == "10.0.0.9"
