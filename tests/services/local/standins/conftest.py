from tests.services.local.standins.fixtures import dvla_api, resend_api, stripe_api

__all__ = ["dvla_api", "resend_api", "stripe_api"]
