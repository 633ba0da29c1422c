"""Physical names fit each AWS limit, stay unique after truncation and are deterministic."""

from __future__ import annotations

import pytest

from infra.naming import LIMITS, physical_name


def test_short_names_are_plain() -> None:
    assert physical_name("production", "api", "lambda") == "reggie-production-api"
    assert physical_name("dev-Jo_Smith", "db") == "reggie-dev-jo-smith-db"


@pytest.mark.parametrize("kind", sorted(LIMITS))
def test_long_names_are_truncated_to_the_limit_with_a_stable_hash(kind: str) -> None:
    long_a = physical_name("dev-" + "a" * 300, "service-one", kind)
    long_b = physical_name("dev-" + "a" * 300, "service-two", kind)
    if len(f"reggie-dev-{'a' * 300}-service-one") > LIMITS[kind]:
        assert len(long_a) == LIMITS[kind] or len(long_a) <= LIMITS[kind]
        assert long_a != long_b
        assert long_a == physical_name("dev-" + "a" * 300, "service-one", kind)
        assert not long_a.endswith("-")
    assert len(long_a) <= LIMITS[kind]


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown name kind"):
        physical_name("production", "x", "bucket-ish")
