"""Settings: parsed from an environment mapping, every problem named by its variable."""

from __future__ import annotations

import re

import pytest

from services.core.settings import SettingsError, load_settings
from services.core.tls import rds_ca_bundle

BASE = {"STAGE": "local", "SERVICE_NAME": "api"}


def test_minimal_environment_gives_defaults() -> None:
    settings = load_settings(BASE)
    assert settings.stage == "local"
    assert settings.is_local
    assert settings.service_name == "api"
    assert settings.log_level == "INFO"
    assert settings.database is None
    assert settings.on_lambda is False
    assert (settings.version, settings.commit) == ("unknown", "unknown")  # a local run: nobody stamped it


def test_the_release_the_deploy_stamped_is_read() -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    settings = load_settings({**BASE, "APP_VERSION": "1.4.0", "GIT_COMMIT": f"{commit}-dirty"})
    assert (settings.version, settings.commit) == ("1.4.0", f"{commit}-dirty")


def test_local_database_url_is_normalized_to_psycopg_driver() -> None:
    settings = load_settings({**BASE, "DATABASE_URL": "postgres://u:p@127.0.0.1:54322/reggie"})
    assert settings.database is not None
    assert settings.database.url == "postgresql+psycopg://u:p@127.0.0.1:54322/reggie"


def test_lambda_database_variables() -> None:
    env = {
        **BASE,
        "STAGE": "production",
        "DB_HOST": "writer.cluster.eu-west-2.rds.amazonaws.com",
        "DB_PORT": "5432",
        "DB_NAME": "reggie",
        "DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-2:123456789012:secret:rds-abc",
        "AWS_LAMBDA_FUNCTION_NAME": "reggie-production-migrator",
        "AWS_REGION": "eu-west-2",
    }
    settings = load_settings(env)
    assert settings.database is not None
    assert settings.database.host == "writer.cluster.eu-west-2.rds.amazonaws.com"
    assert settings.database.port == 5432
    assert settings.database.url is None
    assert settings.database.user is None
    assert settings.on_lambda is True
    # Verified against the RDS roots shipped for the function's region.
    assert settings.database.tls() == {"sslmode": "verify-full", "sslrootcert": str(rds_ca_bundle("eu-west-2"))}


def test_a_service_logs_in_as_its_own_role() -> None:
    env = {
        **BASE,
        "DB_HOST": "writer.cluster.eu-west-2.rds.amazonaws.com",
        "DB_NAME": "reggie",
        "DB_USER": "reggie_api",
        "AWS_REGION": "eu-west-2",
    }
    database = load_settings(env).database
    assert database is not None
    assert (database.user, database.secret_arn, database.region) == ("reggie_api", None, "eu-west-2")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-2:1:secret:x"}, "not both DB_USER and DB_SECRET_ARN"),
        ({"DB_USER": ""}, "DB_USER or DB_SECRET_ARN not set"),
        ({"DB_USER": "Robert'); DROP TABLE users"}, "DB_USER="),
        ({"AWS_REGION": ""}, "AWS_REGION is not set"),
        ({"AWS_REGION": "us-gov-west-1"}, "no RDS certificate authorities are shipped for the region 'us-gov-west-1'"),
    ],
)
def test_a_deployed_database_needs_one_login_and_the_roots_of_its_region(change: dict[str, str], named: str) -> None:
    env = {**BASE, "DB_HOST": "h", "DB_NAME": "reggie", "DB_USER": "reggie_api", "AWS_REGION": "eu-west-2", **change}
    with pytest.raises(SettingsError, match=re.escape(named)):
        load_settings(env)


def test_contract_variables_are_collected() -> None:
    env = {
        **BASE,
        "LOG_LEVEL": "debug",
        "BUCKET_NAME": "reggie-local-documents",
        "BUCKET_ENDPOINT": "http://127.0.0.1:9000",
        "ALLOWED_ORIGINS": "http://localhost:3000/, https://admin.example.com",
        "CLERK_ISSUER": "http://127.0.0.1:9400",
        "CLERK_JWKS_URL": "http://127.0.0.1:9400/.well-known/jwks.json",
        "VALUATION_FUNCTION_NAME": "reggie-staging-valuation",
        "STRIPE_SECRET_KEY_PARAMETER": "/reggie/staging/stripe_secret_key",
    }
    settings = load_settings(env)
    assert settings.log_level == "DEBUG"
    assert settings.allowed_origins == ("http://localhost:3000", "https://admin.example.com")
    assert settings.function_names == {"valuation": "reggie-staging-valuation"}
    assert settings.secret_parameters == {"stripe_secret_key": "/reggie/staging/stripe_secret_key"}
    assert settings.bucket_endpoint == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SERVICE_NAME": "api"}, "STAGE"),
        ({"STAGE": "local"}, "SERVICE_NAME"),
        ({**BASE, "STAGE": "Prod!"}, "STAGE"),
        ({**BASE, "LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({**BASE, "DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL"),
        ({**BASE, "DB_HOST": "h", "DB_NAME": "reggie"}, "DB_SECRET_ARN"),
        ({**BASE, "DB_HOST": "h", "DB_NAME": "n", "DB_SECRET_ARN": "arn:x", "DB_PORT": "five"}, "DB_PORT"),
        (
            {**BASE, "DB_HOST": "h", "DB_NAME": "n", "DB_SECRET_ARN": "not-an-arn", "AWS_REGION": "eu-west-2"},
            "DB_SECRET_ARN",
        ),
        ({**BASE, "BUCKET_ENDPOINT": "127.0.0.1:9000"}, "BUCKET_ENDPOINT"),
        ({**BASE, "ALLOWED_ORIGINS": "localhost:3000"}, "ALLOWED_ORIGINS"),
    ],
)
def test_bad_environment_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)
