"""The Lambda entry point: API Gateway v2 (HTTP API, payload 2.0) events into the Litestar app.

Importing this module builds the app and the read pool (Lambda's init phase); what only some
requests need (the SQLAlchemy engine, the AWS clients, the token verifier) is built by the first
request that needs it (see :mod:`services.api.resources`), so a plate lookup's cold start loads
neither SQLAlchemy nor botocore. Lifespan is off: Lambda gives no shutdown hook worth relying on,
and the app needs no startup step. With SnapStart (production and staging) a restored environment
refreshes what the snapshot holds through :mod:`services.api.snapstart`, registered here.
"""

from __future__ import annotations

from mangum import Mangum

from services.api import snapstart
from services.api.app import app, resources

snapstart.register(resources)
handler = Mangum(app, lifespan="off")  # pyright: ignore[reportArgumentType]  (ASGI typing differs)
