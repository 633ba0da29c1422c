"""Fixtures serving each stand-in on a free loopback port for one test (imported by the conftests that use them)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from services.local.standins.dvla import DvlaStandin, start_dvla
from services.local.standins.resend import ResendStandin, start_resend
from services.local.standins.server import Running
from services.local.standins.stripe import StripeStandin, start_stripe

T = TypeVar("T")


def run_together(call: Callable[[], T], count: int, *, stagger_s: float = 0.0, timeout_s: float = 30) -> list[T]:
    """``call`` run in ``count`` threads started ``stagger_s`` apart; their results (an exception re-raises here)."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = []
        for _ in range(count):
            futures.append(pool.submit(call))
            time.sleep(stagger_s)
        return [future.result(timeout=timeout_s) for future in futures]


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
