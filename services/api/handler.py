"""The Lambda entry point: API Gateway v2 (HTTP API, payload 2.0) events into the Litestar app.

Everything expensive (the app, the database engine, the JWKS cache, the AWS clients) is built when
this module is imported, i.e. in Lambda's init phase; a request pays only for itself. Lifespan is
off: Lambda gives no shutdown hook worth relying on, and the app needs no startup step.
"""

from __future__ import annotations

from mangum import Mangum

from services.api.app import app

handler = Mangum(app, lifespan="off")  # pyright: ignore[reportArgumentType]  (ASGI typing differs)
