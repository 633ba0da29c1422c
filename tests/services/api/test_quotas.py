"""Quotas from the stage's settings (``MAX_OPEN_CLAIMS``, ``MAX_CLAIM_DOCUMENTS``, which the API's spec links
as ``reggie:maxOpenClaims`` and ``reggie:maxClaimDocuments``), raced over HTTP: requests sent at once cannot
pass the limit together, because the count is taken under a row lock in PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.services.api.market import Person, admin_person, person, unique_mark
from tests.services.api.support import Signer, running_api
from tests.services.api.test_health_plates import assert_error

OPEN_CLAIMS, DOCUMENTS = 3, 2
AT_ONCE = 8


@pytest.fixture(scope="module")
def quota_api(base_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {**base_env, "MAX_OPEN_CLAIMS": str(OPEN_CLAIMS), "MAX_CLAIM_DOCUMENTS": str(DOCUMENTS)}
    with running_api(env, Path(tmp_path_factory.mktemp("quota-api")) / "uvicorn.log") as url:
        yield url + "/api/v1"


def _at_once(base_url: str, requests: list[tuple[str, dict[str, object], Person]]) -> list[httpx.Response]:
    """Every request sent together, each on its own connection."""

    def send(request: tuple[str, dict[str, object], Person]) -> httpx.Response:
        path, body, who = request
        with httpx.Client(base_url=base_url, timeout=30) as client:
            return client.post(path, json=body, headers=who.headers)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_claims_sent_at_once_stop_at_the_quota_until_one_is_closed(
    quota_api: str, signer: Signer, engine: Engine
) -> None:
    claimant = person(signer, "quota")
    answers = _at_once(quota_api, [("/claims", {"registration": unique_mark("K")}, claimant) for _ in range(AT_ONCE)])
    made = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    assert len(made) == OPEN_CLAIMS, [a.text for a in answers]
    for answer in refused:
        body = assert_error(answer, 409, "too_many_claims")
        assert body["details"] == {"limit": OPEN_CLAIMS}
    with httpx.Client(base_url=quota_api, timeout=30) as client:
        # Someone else is not limited by this user's claims.
        other = client.post("/claims", json={"registration": unique_mark("K")}, headers=person(signer, "q2").headers)
        assert other.status_code == 201, other.text
        # A reviewed claim is no longer open, so it frees its place.
        admin = admin_person(signer, engine, "quota-admin")
        rejected = client.post(f"/claims/{made[0].json()['id']}/reject", headers=admin.headers)
        assert rejected.status_code == 200, rejected.text
        again = client.post("/claims", json={"registration": unique_mark("K")}, headers=claimant.headers)
        assert again.status_code == 201, again.text
        assert_error(
            client.post("/claims", json={"registration": unique_mark("K")}, headers=claimant.headers),
            409,
            "too_many_claims",
        )


def test_documents_declared_at_once_stop_at_the_quota(quota_api: str, signer: Signer) -> None:
    owner = person(signer, "docs")
    with httpx.Client(base_url=quota_api, timeout=30) as client:
        claim = client.post("/claims", json={"registration": unique_mark("D")}, headers=owner.headers).json()
    document = {"content_type": "application/pdf", "size_bytes": 1000}
    answers = _at_once(quota_api, [(f"/claims/{claim['id']}/documents", document, owner) for _ in range(AT_ONCE)])
    assert sum(a.status_code == 201 for a in answers) == DOCUMENTS, [a.text for a in answers]
    for answer in (a for a in answers if a.status_code != 201):
        assert assert_error(answer, 409, "too_many_documents")["details"] == {"limit": DOCUMENTS}
