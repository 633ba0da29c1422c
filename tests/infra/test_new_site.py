"""A new site touches only its own folder: in a copy of the repository, add `sites/<x>/` and nothing else, and
the offline plan (the real `python -m infra plan`, whole process) serves it on staging's host for its label,
with its own CSP, next to the web and admin sites."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tests.infra.test_new_service import _NOT_THE_PROGRAM, REPO_ROOT, _by_name, _plan

SITE = '''
"""A throwaway site: pre-rendered guides at `guides.`, embedding videos from one host."""

from infra.site_spec import SiteSpec, app_csp

SPEC = SiteSpec(
    name="guides",
    label="guides",
    description="Buying and transferring a plate, step by step",
    csp=app_csp({"frame-src": ["https://www.youtube-nocookie.com"]}),
    routing="static",
    immutable_paths=("_next/static/",),
)
'''


@pytest.mark.slow
def test_a_new_site_plans_from_its_folder_alone(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT, root, ignore=shutil.ignore_patterns(*_NOT_THE_PROGRAM))
    folder = root / "sites" / "guides"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "site.py").write_text(textwrap.dedent(SITE).lstrip())

    document = _plan(root, "staging")

    distributions = _by_name(document, "aws:cloudfront/distribution:Distribution")
    assert {name: d["aliases"] for name, d in distributions.items()} == {
        "guides-cdn": ["staging-guides.reggie.co.uk"],
        "web-cdn": ["staging.reggie.co.uk"],
        "admin-cdn": ["staging-admin.reggie.co.uk"],
    }
    assert "customErrorResponses" not in distributions["guides-cdn"]  # static routing, and no 404.html
    assert distributions["guides-cdn"]["orderedCacheBehaviors"][0]["pathPattern"] == "/_next/static/*"
    headers = _by_name(document, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")["guides-headers"]
    csp = headers["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    assert "frame-src https://challenges.cloudflare.com https://www.youtube-nocookie.com" in csp
    assert "connect-src 'self' https://staging-api.reggie.co.uk" in csp
    records = _by_name(document, "cloudflare:index/dnsRecord:DnsRecord")
    assert records["guides-cname"]["name"] == "staging-guides.reggie.co.uk"
    assert records["guides-cname"]["proxied"] is True
    functions = _by_name(document, "aws:lambda/function:Function")
    assert functions["guides-invalidator-function"]["name"] == "reggie-staging-guides-invalidate"
    assert "reggie:guidesBuildDir" in document["config"]  # staging requires it: the offline plan stood one in
