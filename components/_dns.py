"""Custom domains whose DNS lives in Cloudflare, shared by the components that serve one (HttpApi, StaticSite).

Both need the same two things: an ACM certificate validated through an unproxied Cloudflare CNAME (ACM must
see its own record, not Cloudflare's edge), and the proxied CNAME the public resolves. The children are made
through the owning component's door, under the same roles and names in every component:

| role | child | name |
|---|---|---|
| ``certificate`` | ``aws.acm.Certificate`` (DNS validation, EC P-256) | ``<name>-cert`` |
| ``validation_record`` | ``cloudflare.DnsRecord``, unproxied | ``<name>-cert-validation`` |
| ``certificate_validation`` | ``aws.acm.CertificateValidation`` | ``<name>-cert`` |
| ``domain_record`` | ``cloudflare.DnsRecord``, proxied | ``<name>-cname`` |
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare

from components._common import Component

DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
"""A lowercase, fully qualified domain name (no trailing dot)."""


def validated_certificate(
    owner: Component,
    domain: str,
    zone_id: str,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions | None = None,
) -> aws.acm.CertificateValidation:
    """An ACM certificate for ``domain`` and the wait for its issue, validated through a Cloudflare record in
    ``zone_id``. ``opts`` go to the two ACM resources (CloudFront's certificate is made by a us-east-1
    provider); the Cloudflare record keeps the default Cloudflare provider. Use the result's
    ``certificate_arn``: whatever reads it waits for the certificate to be issued."""
    certificate = owner.child(
        "certificate",
        aws.acm.Certificate,
        aws.acm.CertificateArgs(
            domain_name=domain, validation_method="DNS", key_algorithm="EC_prime256v1", tags=dict(tags)
        ),
        "cert",
        opts=opts,
    )
    # One domain, no SANs: exactly one validation record, so no resource is created inside an apply.
    option = certificate.domain_validation_options.apply(lambda options: options[0])
    validation_record = owner.child(
        "validation_record",
        cloudflare.DnsRecord,
        cloudflare.DnsRecordArgs(
            zone_id=zone_id,
            name=option.apply(lambda o: (o.resource_record_name or "").rstrip(".")),
            type="CNAME",
            content=option.apply(lambda o: (o.resource_record_value or "").rstrip(".")),
            ttl=60,
            proxied=False,  # ACM must see its own CNAME, not Cloudflare's edge
            comment="ACM validation",
        ),
        "cert-validation",
    )
    return owner.child(
        "certificate_validation",
        aws.acm.CertificateValidation,
        aws.acm.CertificateValidationArgs(
            certificate_arn=certificate.arn, validation_record_fqdns=[validation_record.name]
        ),
        "cert",
        opts=opts,
    )


def proxied_cname(
    owner: Component, zone_id: str, domain: str, target: pulumi.Input[str], comment: str
) -> cloudflare.DnsRecord:
    """The public record of ``domain``: a CNAME to ``target`` behind Cloudflare's proxy (CNAME flattening
    makes it work at the apex too)."""
    return owner.child(
        "domain_record",
        cloudflare.DnsRecord,
        cloudflare.DnsRecordArgs(
            zone_id=zone_id,
            name=domain,
            type="CNAME",
            content=target,
            ttl=1,  # automatic: required for proxied records
            proxied=True,
            comment=comment,
        ),
        "cname",
    )
