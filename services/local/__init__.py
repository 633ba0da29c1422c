"""The local stack behind ``make dev``: embedded PostgreSQL, the R2 stand-in, a token issuer, the API."""
