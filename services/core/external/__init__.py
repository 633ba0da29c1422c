"""Clients of the external services the marketplace calls: Stripe (payments), Resend (email), the DVLA VES.

Each takes its settings (base URL, key, timeouts) as a frozen dataclass, talks through the official
library where one exists (``stripe``, ``resend``; ``httpx`` for the DVLA, which publishes none), and
turns every failure into one of the domain errors in :mod:`services.core.external.errors`, so the API
maps them to its JSON errors in one place and never shows a library's exception to a client.
The libraries are imported on first use: the API's cold start pays for none of them.
"""
