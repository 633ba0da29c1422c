"""The marketplace settings: defaults for a stage that sets nothing, the stand-ins' URLs locally, and a
clear error naming the variable for a bad value."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.core.market_settings import DEFAULT_SENDER, load_market_settings
from services.core.settings import SettingsError


def test_defaults_and_the_return_url_from_the_first_origin() -> None:
    settings = load_market_settings({}, allowed_origins=("https://reggie.co.uk", "https://admin.reggie.co.uk"))
    assert settings.offer_lapse == timedelta(days=3)
    assert settings.valuation_max_age == timedelta(days=30)
    assert settings.email_sender == DEFAULT_SENDER
    assert settings.checkout_return_url == "https://reggie.co.uk"
    assert settings.stripe_api_base == "https://api.stripe.com"
    assert (settings.max_open_claims, settings.max_claim_documents) == (5, 5)
    assert load_market_settings({}).checkout_return_url is None
    assert load_market_settings({"MAX_OPEN_CLAIMS": "2", "MAX_CLAIM_DOCUMENTS": ""}).max_open_claims == 2


def test_local_values() -> None:
    settings = load_market_settings(
        {"OFFER_LAPSE_DAYS": "0.5", "STRIPE_API_BASE": "http://127.0.0.1:54325/", "EMAIL_SENDER": "a@b.local"}
    )
    assert settings.offer_lapse == timedelta(hours=12)
    assert settings.stripe_api_base == "http://127.0.0.1:54325"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OFFER_LAPSE_DAYS", "0"),
        ("MAX_OPEN_CLAIMS", "0"),
        ("MAX_OPEN_CLAIMS", "100"),
        ("MAX_CLAIM_DOCUMENTS", "2.5"),
        ("OFFER_LAPSE_DAYS", "forever"),
        ("VALUATION_MAX_AGE_DAYS", "366"),
        ("EMAIL_SENDER", "Reggie"),
        ("STRIPE_API_BASE", "http://api.stripe.com"),
        ("DVLA_API_URL", "ftp://127.0.0.1"),
        ("CHECKOUT_RETURN_URL", "javascript:alert(1)"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_market_settings({variable: value})
