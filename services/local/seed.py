"""Sample marketplace data for the local stack: users and a few hundred listed plates.

First the curated listings (:data:`CURATED`): realistic marks at realistic asking prices, the ones the
README's examples find (``GET /plates/AB12CDE``, ``GET /plates?q=sam``). Then generated ones:
deterministic (a seeded random generator) and idempotent (``ON CONFLICT DO NOTHING``), so every
developer sees the same plates and rerunning ``make dev`` adds nothing. Every candidate mark goes
through :func:`services.core.registration.parse`, so only marks the DVLA could issue are listed,
spread evenly across every :class:`~services.core.registration.PlateFormat`. Every seeded plate is
sold by :data:`LOCAL_SELLER` (``seller@reggie.local``), who can accept offers on them; the local
buyer (:data:`LOCAL_BUYER`, the ``/dev/info`` user token) can offer on them.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects.postgresql import insert

from services.core.models import Plate, User
from services.core.registration import InvalidRegistration, PlateFormat, Registration, parse

__all__ = ["CURATED", "LOCAL_ADMIN", "LOCAL_BUYER", "LOCAL_SELLER", "SeedResult", "generate_plates", "seed"]

LOCAL_SELLER = "user_local_seller"
"""Clerk-style user id of the seller of every seeded plate (mint a token with this subject to act as them)."""
LOCAL_ADMIN = "user_local_admin"
LOCAL_BUYER = "user_local_demo"
"""The subject of ``/dev/info``'s user token."""

CURATED: tuple[tuple[str, int], ...] = (
    ("AB12 CDE", 495),
    ("SAM 1", 29_950),
    ("5AM", 7_500),
    ("1 SAM", 18_000),
    ("H1 SAM", 2_250),
    ("SAM 5Y", 1_195),
    ("JAM 35", 3_995),
    ("BOB 1", 24_500),
    ("K9", 85_000),
    ("M1 LES", 3_450),
    ("DAV 1D", 4_995),
    ("R1 CHY", 6_750),
    ("BEN 10", 14_995),
    ("LUC 4S", 1_850),
    ("PAU 1L", 2_995),
    ("VIP 1", 95_000),
    ("1 RAF", 12_500),
)
"""Marks people look for, with asking prices in whole pounds like the market's (dateless short marks
in the tens of thousands, name-like dated marks in the low thousands)."""
DEFAULT_PLATE_COUNT = 300
DEFAULT_SEED = 2024

_NO_IQ = "".join(c for c in string.ascii_uppercase if c not in "IQ")
_AGE_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "IOQUZ")
_TAG_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "IQZ")
_DATELESS_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "IQZ")
_NI_CODES = ("IA", "IB", "IJ", "IL", "IW", "AZ", "BZ", "CZ", "DZ", "FZ", "GZ", "HZ", "JZ", "KZ", "LZ", "MZ", "NZ")

# Asking price ranges in whole pounds by format: older and shorter marks fetch more.
_PRICE_RANGE = {
    PlateFormat.CURRENT: (250, 3_000),
    PlateFormat.PREFIX: (300, 5_000),
    PlateFormat.SUFFIX: (400, 8_000),
    PlateFormat.DATELESS: (1_500, 60_000),
    PlateFormat.NORTHERN_IRELAND: (400, 12_000),
}


def _current(rng: random.Random) -> str:
    age = rng.choice([f"{y:02d}" for y in range(2, 25)] + [str(y) for y in range(51, 75)])
    return "".join(rng.choices(_TAG_LETTERS, k=2)) + age + "".join(rng.choices(_NO_IQ, k=3))


def _prefix(rng: random.Random) -> str:
    return rng.choice(_AGE_LETTERS) + str(rng.randint(1, 999)) + "".join(rng.choices(_NO_IQ, k=3))


def _suffix(rng: random.Random) -> str:
    return "".join(rng.choices(_NO_IQ, k=3)) + str(rng.randint(1, 999)) + rng.choice(_AGE_LETTERS)


def _dateless(rng: random.Random) -> str:
    letters = "".join(rng.choices(_DATELESS_LETTERS, k=rng.randint(1, 3)))
    digits = rng.randint(1, min(4, 7 - len(letters)))
    number = str(rng.randint(10 ** (digits - 1), 10**digits - 1))
    return letters + number if rng.random() < 0.5 else number + letters


def _northern_ireland(rng: random.Random) -> str:
    code = rng.choice(_NI_CODES)
    if rng.random() < 0.5:
        code = rng.choice(_NO_IQ) + code
    number = str(rng.randint(1, 9999))
    return code + number if rng.random() < 0.7 else number + code


_GENERATORS: dict[PlateFormat, Callable[[random.Random], str]] = {
    PlateFormat.CURRENT: _current,
    PlateFormat.PREFIX: _prefix,
    PlateFormat.SUFFIX: _suffix,
    PlateFormat.DATELESS: _dateless,
    PlateFormat.NORTHERN_IRELAND: _northern_ireland,
}


def generate_plates(count: int = DEFAULT_PLATE_COUNT, seed: int = DEFAULT_SEED) -> list[tuple[Registration, int]]:
    """``count`` distinct valid marks with asking prices in pence, the same for the same ``seed``."""
    if count < len(_GENERATORS):
        raise ValueError(f"count must be at least {len(_GENERATORS)} to cover every format")
    rng = random.Random(seed)  # noqa: S311 - sample data, reproducible on purpose
    plates: dict[str, tuple[Registration, int]] = {}
    formats = list(_GENERATORS)
    for index in range(count):
        wanted = formats[index % len(formats)]
        for _attempt in range(1000):
            try:
                reg = parse(_GENERATORS[wanted](rng))
            except InvalidRegistration:
                continue
            if reg.format is wanted and reg.normalized not in plates:
                low, high = _PRICE_RANGE[wanted]
                plates[reg.normalized] = (reg, rng.randint(low // 5, high // 5) * 5 * 100)
                break
        else:  # pragma: no cover - the generators above always find marks quickly
            raise RuntimeError(f"could not generate a {wanted} mark")
    return list(plates.values())


@dataclass(frozen=True, slots=True)
class SeedResult:
    users_inserted: int
    plates_inserted: int


def seed(engine: Engine, *, count: int = DEFAULT_PLATE_COUNT, seed_value: int = DEFAULT_SEED) -> SeedResult:
    """Insert the local users and ``count`` listed plates; rows already present are left alone."""
    with engine.begin() as connection:
        users = _insert_users(connection)
        seller_id = connection.execute(select(User.id).where(User.clerk_user_id == LOCAL_SELLER)).scalar_one()
        curated = [(parse(mark), pounds * 100) for mark, pounds in CURATED]
        rows = [
            {
                "registration": reg.normalized,
                "registration_display": reg.display,
                "format": reg.format.value,
                "asking_price_pence": price,
                "seller_id": seller_id,
                "description": f"{reg.display}: a {reg.format.value.replace('_', ' ')} mark (sample data)",
            }
            for reg, price in {
                r.normalized: (r, p) for r, p in [*generate_plates(count, seed_value), *curated]
            }.values()
        ]
        statement = insert(Plate).values(rows).on_conflict_do_nothing(index_elements=["registration"])
        inserted = len(connection.execute(statement.returning(Plate.id)).all())
    return SeedResult(users_inserted=users, plates_inserted=inserted)


def _insert_users(connection: Connection) -> int:
    rows = [
        {"clerk_user_id": LOCAL_SELLER, "email": "seller@reggie.local", "display_name": "Local Seller", "role": "user"},
        {"clerk_user_id": LOCAL_ADMIN, "email": "admin@reggie.local", "display_name": "Local Admin", "role": "admin"},
        {"clerk_user_id": LOCAL_BUYER, "email": "buyer@reggie.local", "display_name": "Local Buyer", "role": "user"},
    ]
    statement = insert(User).values(rows).on_conflict_do_nothing(index_elements=["clerk_user_id"])
    return len(connection.execute(statement.returning(User.id)).all())
