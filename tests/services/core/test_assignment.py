"""The DVLA's age rule for putting a mark on a vehicle, with real marks and months of first registration."""

from __future__ import annotations

from datetime import date

import pytest

from services.core.assignment import may_assign
from services.core.registration import InvalidRegistration, parse


@pytest.mark.parametrize(
    ("mark", "first_registered", "allowed"),
    [
        # current format: March releases carry the year, September ones the year plus 50
        ("AB12 CDE", date(2012, 3, 1), True),  # the first month the 12 identifier was issued
        ("AB12 CDE", date(2012, 2, 1), False),  # a month too old
        ("AB12 CDE", date(2011, 9, 1), False),
        ("AB12 CDE", date(2020, 6, 1), True),  # a vehicle may look older than it is
        ("AB62 CDE", date(2012, 3, 1), False),  # 62 is September 2012
        ("AB62 CDE", date(2012, 9, 30), True),  # the day within the month does not matter
        ("AB62 CDE", date(2012, 8, 31), False),
        ("AB51 CDE", date(2001, 9, 1), True),  # the format's first identifier
        ("AB00 CDE", date(2049, 12, 1), False),  # 00 is September 2050
        # prefix format: August releases until 1999, then March and September
        ("A123 BCD", date(1983, 8, 1), True),
        ("A123 BCD", date(1983, 7, 1), False),
        ("T123 BCD", date(1999, 3, 1), True),
        ("V123 BCD", date(1999, 3, 1), False),  # V is September 1999
        ("Y123 BCD", date(2001, 3, 1), True),
        # suffix format
        ("ABC 123D", date(1966, 1, 1), True),
        ("ABC 123D", date(1965, 12, 1), False),
        ("ABC 123F", date(1967, 7, 1), False),  # F began in August 1967
        # dateless and Northern Ireland marks fit any vehicle, however old
        ("1 A", date(1950, 1, 1), True),
        ("ABC 123", date(1904, 1, 1), True),
        ("ABZ 1234", date(1960, 1, 1), True),
        ("1 IA", date(2024, 1, 1), True),
    ],
)
def test_a_mark_may_not_make_a_vehicle_look_newer(mark: str, first_registered: date, allowed: bool) -> None:
    verdict = may_assign(mark, first_registered)
    assert verdict.allowed is allowed
    assert (verdict.reason is None) is allowed


def test_the_reason_says_why_and_from_when() -> None:
    verdict = may_assign("ab62cde", date(2012, 3, 14))
    assert not verdict.allowed
    assert verdict.earliest_first_registration == date(2012, 9, 1)
    assert verdict.reason == (
        "AB62 CDE dates from September 2012 (age identifier 62), so it would make a vehicle first registered in "
        "March 2012 look newer than it is; it fits only vehicles first registered in September 2012 or later."
    )


def test_a_dateless_mark_has_no_earliest_month() -> None:
    verdict = may_assign(parse("1 A"), date(1930, 5, 1))
    assert (verdict.allowed, verdict.reason, verdict.earliest_first_registration) == (True, None, None)


def test_an_allowed_dated_mark_still_reports_its_earliest_month() -> None:
    assert may_assign("A123 BCD", date(1990, 1, 1)).earliest_first_registration == date(1983, 8, 1)


def test_text_that_is_not_a_mark_is_refused() -> None:
    with pytest.raises(InvalidRegistration):
        may_assign("QQ12 QQQ", date(2020, 1, 1))
