"""The public web app (plate search, listings, offers, valuations): the apex domain in production."""

from infra.site_spec import SiteSpec, app_csp

SPEC = SiteSpec(
    name="web",
    label="",
    description="The public web app: search, list and buy plates, value a registration",
    csp=app_csp(),
    routing="spa",
    immutable_paths=("assets/",),
)
