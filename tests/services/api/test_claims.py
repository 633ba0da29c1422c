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
    assert_error(client.post(f"/claims/{claim['id']}/documents/1/confirm", headers=owner), 409, "claim_closed")


def _uploaded(client: httpx.Client, owner: dict[str, str], mark: str, content: bytes) -> tuple[int, dict]:
    claim = client.post("/claims", json={"registration": mark}, headers=owner).json()
    declared = _declare(client, claim["id"], owner, "application/pdf", len(content))
    put = httpx.put(declared["upload"]["url"], content=content, headers=declared["upload"]["headers"])
    assert put.status_code == 200, put.text
    return claim["id"], declared


def test_a_confirmed_document_cannot_be_replaced_and_admins_view_it(
    client: httpx.Client, signer: Signer, moto_port: int
) -> None:
    owner = bearer(signer.mint(sub="user_claim_keeper"))
    admin = bearer(signer.mint(sub="user_claim_viewer", role="admin"))
    claim_id, declared = _uploaded(client, owner, "KP51 DOC", PDF)
    doc_id = declared["document"]["id"]
    view = f"/claims/{claim_id}/documents/{doc_id}/view"
    assert_error(client.get(view, headers=admin), 409, "document_not_confirmed")
    assert client.post(f"/claims/{claim_id}/documents/{doc_id}/confirm", headers=owner).status_code == 200
    s3 = boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{moto_port}", region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET,
    )  # fmt: skip
    upload_key = urlsplit(declared["upload"]["url"]).path.split(f"/{BUCKET}/", 1)[1]
    assert upload_key.startswith("uploads/")
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=upload_key).get("KeyCount") == 0  # the upload is gone

    # The upload URL is still valid for a few minutes: a second PUT of other bytes of the same size goes
    # through, but only recreates the upload key; the confirmed document is untouched.
    forged = b"%PDF-1.7\n" + b"X" * 2048
    again = httpx.put(declared["upload"]["url"], content=forged, headers=declared["upload"]["headers"])
    assert again.status_code == 200
    assert_error(client.get(view, headers=owner), 403)
    link = client.get(view, headers=admin)
    assert link.status_code == 200, link.text
    assert parse_qs(urlsplit(link.json()["url"]).query)["X-Amz-Expires"] == ["60"]
    shown = httpx.get(link.json()["url"])
    assert shown.status_code == 200
    assert shown.content == PDF
    assert shown.headers["content-type"] == "application/pdf"


def test_content_that_is_not_its_declared_type_is_discarded(client: httpx.Client, signer: Signer) -> None:
    owner = bearer(signer.mint(sub="user_claim_magic"))
    not_a_pdf = b"MZ\x90\x00" + b"\x00" * 2000  # an executable, declared as a PDF of the right size
    claim_id, declared = _uploaded(client, owner, "MG51 CAC", not_a_pdf)
    confirm = f"/claims/{claim_id}/documents/{declared['document']['id']}/confirm"
    body = assert_error(client.post(confirm, headers=owner), 422, "upload_mismatch")
    assert "not a PDF" in body["message"]
    assert_error(client.post(confirm, headers=owner), 409, "document_rejected")


def test_confirmation_is_refused_unless_the_claim_is_pending(client: httpx.Client, signer: Signer) -> None:
    owner = bearer(signer.mint(sub="user_claim_late"))
    admin = bearer(signer.mint(sub="user_claim_admin3", role="admin"))
    claim_id, first = _uploaded(client, owner, "LT51 CNF", PDF)
    second = _declare(client, claim_id, owner, "application/pdf", len(PDF))
    assert httpx.put(second["upload"]["url"], content=PDF, headers=second["upload"]["headers"]).status_code == 200
    client.post(f"/claims/{claim_id}/documents/{first['document']['id']}/confirm", headers=owner)
    assert client.post(f"/claims/{claim_id}/approve", headers=admin).status_code == 200
    late = client.post(f"/claims/{claim_id}/documents/{second['document']['id']}/confirm", headers=owner)
    assert_error(late, 409, "claim_closed")
