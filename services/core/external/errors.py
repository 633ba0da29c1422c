"""The domain errors of the external-service clients, one family per service.

Each says what the caller can do about it: ``...Unavailable`` is worth retrying later (the service
is down, slow, rate-limiting, or refused our credentials: an operator must look, but the work must not
be lost), the others will fail the same way every time (the request itself is wrong, or what was
asked for does not exist). ``message`` is safe to log; none carries a key or a personal detail
beyond what the caller passed in.
"""

from __future__ import annotations

__all__ = [
    "EmailRejected",
    "EmailUnavailable",
    "ExternalServiceError",
    "InvalidVehicleRegistration",
    "PaymentProviderUnavailable",
    "PaymentRejected",
    "VehicleNotFound",
    "VehicleServiceUnavailable",
]


class ExternalServiceError(Exception):
    """Base of every client error; ``service`` names the provider, ``status`` its HTTP status when it answered."""

    service = "external"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        """The provider's own error code (Stripe's ``code`` or ``type``, Resend's ``name``), when it gave one."""


class PaymentProviderUnavailable(ExternalServiceError):
    """Stripe could not be reached, timed out, failed, rate-limited us or refused our key: retry later."""

    service = "stripe"


class PaymentRejected(ExternalServiceError):
    """Stripe refused the request itself (a parameter, an idempotency key reused with other parameters)."""

    service = "stripe"

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.param = param


class EmailUnavailable(ExternalServiceError):
    """Resend could not take the email now (down, slow, rate limit, our key refused): keep it and retry."""

    service = "resend"


class EmailRejected(ExternalServiceError):
    """Resend will never accept this email as it is (an address, a missing field, a reused idempotency key)."""

    service = "resend"


class InvalidVehicleRegistration(ExternalServiceError, ValueError):
    """The vehicle registration is not one the DVLA can look up (checked before any request is made)."""

    service = "dvla"


class VehicleNotFound(ExternalServiceError):
    """The DVLA holds no record of the vehicle (or none of its first registration)."""

    service = "dvla"


class VehicleServiceUnavailable(ExternalServiceError):
    """The DVLA Vehicle Enquiry Service could not answer: down, slow, rate-limited or refused our key."""

    service = "dvla"
