"""May this mark go on that vehicle? The DVLA's age rule for assigning a registration.

A mark may not make a vehicle look newer than it is (DVLA INF104 and V750/V778 guidance): a dated
mark (current, prefix or suffix format) may go only on a vehicle first registered on or after the
date its age identifier was first issued. ``AB12 CDE`` (March 2012) fits a car first registered in
March 2012 or later, never one from February 2012; ``AB62 CDE`` (September 2012) does not fit a car
first registered in March 2012. A vehicle may look older than it is, so a 2020 car may carry a 12
plate. Dateless and Northern Ireland marks carry no date and fit any vehicle.

The rule compares months: the DVLA holds a vehicle's first registration as a month (``YYYY-MM``),
and every age identifier was first issued on the first day of a month.

This is the age rule only; the DVLA's other conditions (the vehicle taxed or SORN, able to move
under its own power, not a Q plate, and so on) are checked by the DVLA when the mark is assigned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.core.registration import Registration, parse

__all__ = ["AssignmentVerdict", "may_assign"]


@dataclass(frozen=True, slots=True)
class AssignmentVerdict:
    allowed: bool
    reason: str | None
    """Why not, in one sentence a buyer can read; ``None`` when allowed."""
    earliest_first_registration: date | None
    """The earliest month of first registration a vehicle carrying the mark may have; ``None`` for dateless marks."""


def _month(day: date) -> str:
    return day.strftime("%B %Y")


def may_assign(mark: Registration | str, first_registered: date) -> AssignmentVerdict:
    """Whether ``mark`` may go on a vehicle first registered in ``first_registered``'s month, and why not.

    ``mark`` is a parsed :class:`~services.core.registration.Registration` or text to parse (which
    raises :class:`~services.core.registration.InvalidRegistration` when it is not a DVLA mark).
    """
    registration = parse(mark) if isinstance(mark, str) else mark
    issued = registration.issued_from
    if issued is None:
        return AssignmentVerdict(allowed=True, reason=None, earliest_first_registration=None)
    vehicle_month = first_registered.replace(day=1)
    if vehicle_month >= issued:
        return AssignmentVerdict(allowed=True, reason=None, earliest_first_registration=issued)
    reason = (
        f"{registration.display} dates from {_month(issued)} (age identifier {registration.age_identifier}), "
        f"so it would make a vehicle first registered in {_month(vehicle_month)} look newer than it is; "
        f"it fits only vehicles first registered in {_month(issued)} or later."
    )
    return AssignmentVerdict(allowed=False, reason=reason, earliest_first_registration=issued)
