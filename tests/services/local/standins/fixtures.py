"""Fixtures serving each stand-in on a free loopback port for one test (imported by the conftests that use them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.local.standins.dvla import DvlaStandin, start_dvla
from services.local.standins.resend import ResendStandin, start_resend
from services.local.standins.server import Running
from services.local.standins.stripe import StripeStandin, start_stripe


@pytest.fixture
def stripe_api() -> Iterator[Running[StripeStandin]]:
    with start_stripe() as running:
        yield running


@pytest.fixture
def resend_api() -> Iterator[Running[ResendStandin]]:
    with start_resend() as running:
        yield running


@pytest.fixture
def dvla_api() -> Iterator[Running[DvlaStandin]]:
    with start_dvla() as running:
        yield running
