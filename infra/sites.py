"""The stage's static sites: one :class:`~components.StaticSite` per site the stage serves.

Which sites, their hosts and their build folders come from the stage (``infra/config.py``: production and
staging serve every site in ``sites/``, a personal stage those it was given a build folder for); what each
site is comes from its spec (``sites/<name>/site.py``). Each site's Content-Security-Policy is its spec's,
with ``{api}``, ``{clerk}`` and ``{documents}`` filled in with this stage's origins, so a staging page may
call staging's API and never production's. The certificates and CloudFront's log delivery live in us-east-1:
each site declares its own explicit provider for that region (a provider under the site's component, like
every other resource of it).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components import StaticSite, StaticSiteArgs
from infra.config import SiteSettings, Stage
from infra.naming import physical_name
from infra.site_spec import CSP_PLACEHOLDERS, render_csp


def site_csp(settings: SiteSettings, origins: Mapping[str, pulumi.Input[str] | None]) -> pulumi.Output[str]:
    """The site's CSP header with the stage's ``origins`` (``api``, ``clerk``, ``documents``) filled in; a source
    whose origin the stage does not have (no API) is left out."""
    known = {name: origins.get(name) or "" for name in CSP_PLACEHOLDERS}
    return pulumi.Output.all(**known).apply(lambda values: render_csp(settings.spec.csp, values))


def build_sites(stage: Stage, origins: Mapping[str, pulumi.Input[str] | None]) -> dict[str, StaticSite]:
    """Declare every site ``stage`` serves; ``origins`` holds the API's and the documents bucket's (the Clerk
    issuer comes from the stage)."""
    if not stage.sites:
        return {}
    stage_origins = {**origins, "clerk": stage.clerk_issuer}
    return {
        name: StaticSite(
            name,
            StaticSiteArgs(
                site_name=physical_name(stage.name, name, "static_site"),
                domain=settings.host,
                zone_id=stage.cloudflare_zone_id,
                build_dir=settings.build_dir,
                content_security_policy=site_csp(settings, stage_origins),
                log_retention_days=stage.log_retention_days,
                routing=settings.spec.routing,
                immutable_paths=settings.spec.immutable_paths,
                allowed_networks=settings.allowed_networks,
                tags={**stage.tags, "site": name},
            ),
        )
        for name, settings in stage.sites.items()
    }
