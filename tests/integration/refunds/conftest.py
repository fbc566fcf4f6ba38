"""Refund tests: a simulator process per test module, our clock on its calendar, and the
settings that point the gateway and the e-invoice client at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from services.core.config import Settings
from tests.integration.ecpay_sim.einvoice_support import simulator_process
from tests.integration.refunds.refund_support import sim_settings, sim_to_next_morning


@pytest.fixture(scope="module")
def sim(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One simulator per module, so a module's card records and faults stay its own."""
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    with simulator_process(tmp_path_factory.mktemp(f"refunds-{name}")) as url:
        yield url


@pytest.fixture
def now(sim: str) -> datetime:
    """Our clock, agreeing with the simulator's calendar: 10:00 Taipei."""
    return sim_to_next_morning(sim)


@pytest.fixture
def app_settings(settings: Settings, sim: str) -> Settings:
    return sim_settings(settings, sim)
