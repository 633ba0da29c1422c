"""The worker's settings: the marketplace settings plus the Resend key, read once per process.

The key comes from the SSM parameter the ``Secret("resend_api_key")`` link names
(``RESEND_API_KEY_PARAMETER``), read with decryption at the first run; locally and in tests the value
itself may be set (``RESEND_API_KEY``). A missing key is a :class:`SettingsError` naming both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from services.core import contract
from services.core.external.email import ResendSettings
from services.core.market_settings import load_market_settings
from services.core.settings import SettingsError

__all__ = ["RESEND_KEY", "resend_settings"]

RESEND_KEY = "resend_api_key"


def _ssm_value(parameter: str) -> str:
    import boto3  # noqa: PLC0415 - only deployed runs read SSM

    answer: Any = boto3.client("ssm").get_parameter(Name=parameter, WithDecryption=True)
    return str(answer["Parameter"]["Value"])


def resend_settings(
    environ: Mapping[str, str] | None = None, *, read_parameter: Callable[[str], str] = _ssm_value
) -> ResendSettings:
    """Where and how to send email (``read_parameter`` reads an SSM parameter; tests hand in their own)."""
    env = os.environ if environ is None else environ
    market = load_market_settings(env)
    key = env.get(contract.secret_value_variable(RESEND_KEY), "").strip()
    parameter = env.get(contract.secret_parameter_variable(RESEND_KEY), "").strip()
    if not key and parameter:
        key = read_parameter(parameter)
    if not key:
        names = f"{contract.secret_parameter_variable(RESEND_KEY)} (or {contract.secret_value_variable(RESEND_KEY)})"
        raise SettingsError(f"{names} is not set: the worker cannot send email")
    try:
        return ResendSettings(api_key=key, sender=market.email_sender, api_url=market.resend_api_url)
    except ValueError as exc:
        raise SettingsError(f"the Resend settings are invalid: {exc}") from None
