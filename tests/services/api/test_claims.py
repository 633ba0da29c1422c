"""Claims over real HTTP, with real PUTs of files to the presigned URL (moto S3 behind a gateway that
checks SigV4 query signatures as R2 does): wrong type or size is refused by the URL itself."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
from sqlalchemy import Engine, text

from tests.services.api.conftest import bearer
from tests.services.api.sigv4_gateway import SigV4Gateway
from tests.services.api.support import BUCKET, S3_KEY_ID, S3_SECRET, Signer
from tests.services.api.test_health_plates import assert_error

PDF = b"%PDF-1.7\n" + b"0" * 2048


def _declare(client: httpx.Client, claim_id: int, headers: dict[str, str], content_type: str, size: int) -> dict:
    response = client.post(
        f"/claims/{claim_id}/documents", json={"content_type": content_type, "size_bytes": size}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_claim_upload_confirm_and_approve(
    client: httpx.Client, signer: Signer, r2: SigV4Gateway, engine: Engine
) -> None:
    owner = bearer(signer.mint(sub="user_claim_owner"))
    other = bearer(signer.mint(sub="user_claim_other"))
    admin = bearer(signer.mint(sub="user_claim_admin", role="admin"))

    created = client.post("/claims", json={"registration": "cl51 amx"}, headers=owner)
    assert created.status_code == 201, created.text
    claim = created.json()
    assert claim["registration"] == "CL51 AMX"
    assert claim["status"] == "pending"
    assert_error(client.post("/claims", json={"registration": "CL51AMX"}, headers=owner), 409, "claim_exists")
    assert_error(client.get(f"/claims/{claim['id']}", headers=other), 404)
    assert client.get(f"/claims/{claim['id']}", headers=admin).status_code == 200

    declared = _declare(client, claim["id"], owner, "application/pdf", len(PDF))
    upload, document = declared["upload"], declared["document"]
    assert upload["method"] == "PUT"
    assert upload["headers"] == {"Content-Type": "application/pdf", "Content-Length": str(len(PDF))}
    query = parse_qs(urlsplit(upload["url"]).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    assert "x-amz-checksum" not in upload["url"].lower()  # checksums only when required (R2)
    assert "/auto/s3/aws4_request" in query["X-Amz-Credential"][0]

    confirm = f"/claims/{claim['id']}/documents/{document['id']}/confirm"
    assert_error(client.post(confirm, headers=owner), 409, "upload_missing")

    # The signed URL itself refuses another type or another size.
    wrong_type = httpx.put(upload["url"], content=PDF, headers={"Content-Type": "image/png"})
    assert wrong_type.status_code == 403
    wrong_size = httpx.put(upload["url"], content=PDF + b"extra", headers={"Content-Type": "application/pdf"})
    assert wrong_size.status_code == 403
    assert r2.refusals[-2:] == ["SignatureDoesNotMatch", "SignatureDoesNotMatch"]
    assert_error(client.post(confirm, headers=owner), 409, "upload_missing")

    put = httpx.put(upload["url"], content=PDF, headers=upload["headers"])
    assert put.status_code == 200, put.text
    assert_error(client.post(confirm, headers=other), 404)
    confirmed = client.post(confirm, headers=owner)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "uploaded"
    assert confirmed.json()["confirmed_size_bytes"] == len(PDF)
    assert client.post(confirm, headers=owner).json()["status"] == "uploaded"  # idempotent

    assert_error(client.post(f"/claims/{claim['id']}/approve", headers=owner), 403)
    approved = client.post(f"/claims/{claim['id']}/approve", json={"note": "V5C matches"}, headers=admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert_error(client.post(f"/claims/{claim['id']}/reject", headers=admin), 409, "claim_closed")
    assert_error(
        client.post(
            f"/claims/{claim['id']}/documents", json={"content_type": "image/png", "size_bytes": 10}, headers=owner
        ),
        409,
        "claim_closed",
    )
    with engine.connect() as conn:
        actions = conn.execute(
            text("SELECT action FROM audit_log WHERE target_type = 'claim' AND target_id = :id"),
            {"id": str(claim["id"])},
        ).scalars()
        assert list(actions) == ["claim.approved"]
    listed = client.get("/claims", headers=owner).json()["items"]
    assert [c["id"] for c in listed if c["id"] == claim["id"]] == [claim["id"]]
    pending = client.get("/claims", params={"all": "true", "status": "approved"}, headers=admin).json()["items"]
    assert claim["id"] in [c["id"] for c in pending]


def test_upload_that_does_not_match_is_discarded(client: httpx.Client, signer: Signer, moto_port: int) -> None:
    owner = bearer(signer.mint(sub="user_claim_sneaky"))
    claim = client.post("/claims", json={"registration": "SN51 EAK"}, headers=owner).json()
    declared = _declare(client, claim["id"], owner, "image/jpeg", 1000)
    key = urlsplit(declared["upload"]["url"]).path.split(f"/{BUCKET}/", 1)[1]
    # Something bypassed the signed URL and stored another object under the key.
    s3 = boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{moto_port}", region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET,
    )  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"x" * 999, ContentType="image/jpeg")
    confirm = f"/claims/{claim['id']}/documents/{declared['document']['id']}/confirm"
    body = assert_error(client.post(confirm, headers=owner), 422, "upload_mismatch")
    assert body["details"]["stored_size_bytes"] == 999
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount") == 0
    assert_error(client.post(confirm, headers=owner), 409, "document_rejected")


def test_claim_input_errors(client: httpx.Client, signer: Signer) -> None:
    owner = bearer(signer.mint(sub="user_claim_errors"))
    admin = bearer(signer.mint(sub="user_claim_admin2", role="admin"))
    assert_error(client.post("/claims", json={"registration": "not a plate"}, headers=owner), 422)
    assert_error(client.post("/claims", json={"registration": "AB12CDE"}), 401)
    claim = client.post("/claims", json={"registration": "ER51 ROR"}, headers=owner).json()
    docs = f"/claims/{claim['id']}/documents"
    assert_error(client.post(docs, json={"content_type": "text/html", "size_bytes": 10}, headers=owner), 400)
    assert_error(
        client.post(docs, json={"content_type": "image/png", "size_bytes": 10 * 1024 * 1024 + 1}, headers=owner), 400
    )
    assert_error(client.post(docs, json={"content_type": "image/png", "size_bytes": 0}, headers=owner), 400)
    assert_error(
        client.post("/claims/424242424/documents", json={"content_type": "image/png", "size_bytes": 9}, headers=owner),
        404,
    )
    assert_error(client.post(f"/claims/{claim['id']}/approve", headers=admin), 409, "no_documents")
    rejected = client.post(f"/claims/{claim['id']}/reject", json={"note": "no V5C"}, headers=admin)
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["review_note"] == "no V5C"
    assert_error(client.post(f"/claims/{claim['id']}/documents/1/confirm", headers=owner), 404)
