"""The admin app (claims review, listings moderation, refunds): `admin.` in production, optionally limited to
the admins' networks with `reggie:adminAllowedNetworks`."""

from infra.site_spec import SiteSpec, app_csp

SPEC = SiteSpec(
    name="admin",
    label="admin",
    description="The admin app: review ownership claims and their documents, moderate listings",
    csp=app_csp(),
    routing="spa",
    immutable_paths=("assets/",),
)
