"""Local stand-ins for the external services the marketplace calls: Stripe, Resend and the DVLA VES.

Each answers over real HTTP on loopback and checks every request as the real service does, so the
official client libraries (``stripe``, ``resend``) and our ``httpx`` client run unchanged against
them, in tests and under ``make dev``. One entry point each starts it on a free port in a thread and
returns a handle with ``base_url``, ``standin`` (its state, for tests) and ``stop()``:
:func:`~services.local.standins.stripe.start_stripe`, :func:`~services.local.standins.resend.start_resend`,
:func:`~services.local.standins.dvla.start_dvla`.
"""
