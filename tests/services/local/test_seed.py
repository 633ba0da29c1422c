"""Seed data: deterministic, every format, valid marks, idempotent against a real database."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import create_engine, func, pool, select

from services.core.models import Plate, User
from services.core.registration import PlateFormat, parse
from services.core.schema import upgrade_to_head
from services.local.seed import CURATED, LOCAL_ADMIN, LOCAL_BUYER, LOCAL_SELLER, generate_plates, seed


def test_generation_is_deterministic_and_covers_every_format() -> None:
    plates = generate_plates(300, seed=1)
    assert plates == generate_plates(300, seed=1)
    assert plates != generate_plates(300, seed=2)
    assert len({reg.normalized for reg, _ in plates}) == 300
    assert Counter(reg.format for reg, _ in plates) == dict.fromkeys(PlateFormat, 60)
    for reg, price in plates:
        assert parse(reg.display) == reg
        assert price > 0
        assert price % 500 == 0  # whole multiples of five pounds


def test_seed_is_idempotent(fresh_database_url: str) -> None:
    upgrade_to_head(fresh_database_url)
    engine = create_engine(fresh_database_url, poolclass=pool.NullPool)
    try:
        first = seed(engine, count=50)
        second = seed(engine, count=50)
        with engine.connect() as connection:
            plates = connection.execute(select(func.count()).select_from(Plate)).scalar_one()
            roles = dict(connection.execute(select(User.clerk_user_id, User.role)).all())
    finally:
        engine.dispose()
    curated = {parse(mark).normalized for mark, _ in CURATED}
    generated = {reg.normalized for reg, _ in generate_plates(50)}
    assert (first.plates_inserted, first.users_inserted) == (len(curated | generated), 3)
    assert (second.plates_inserted, second.users_inserted) == (0, 0)
    assert plates == len(curated | generated)
    assert roles == {LOCAL_SELLER: "user", LOCAL_ADMIN: "admin", LOCAL_BUYER: "user"}


def test_curated_listings_answer_the_readme_examples() -> None:
    curated = {parse(mark).normalized for mark, _ in CURATED}
    assert "AB12CDE" in curated  # GET /plates/AB12CDE
    assert {"SAM1", "5AM"} <= curated  # GET /plates?q=sam (5 reads as S)
