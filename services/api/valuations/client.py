"""How the API reaches the valuation service: the valuation Lambda when deployed, in process locally.

Both backends speak the valuation service's result shape: one dict per registration, either
``{"registration", "price", "low", "high", "currency", "weights", "explanation", "model_version"}``
(prices in whole pounds) with the ``comparables`` the service read from ``sales`` (absent when it could
not), or ``{"registration", "error": {"code", "message"}}``.

* :class:`LambdaBackend` invokes the valuation function with a 2 s connect and 10 s read timeout and
  exactly one retry; a second failure raises :class:`ValuationUnavailable`, which the API answers with
  a 503 and a clear body. Request and answer are the wire structs of
  :mod:`services.core.valuation_wire`: an answer that does not decode as one result per mark is a
  failure like any other.
* :class:`InProcessBackend` calls a ``value_many`` it is handed: the local stack hands it the
  valuation service's (:mod:`services.local.api`), loaded on the first valuation. Without one it
  answers with :func:`fallback_estimate`, a deliberately simple, documented heuristic (model version
  ``fallback-heuristic-1``), so a stage without the valuation function and the API's tests run end to
  end without the model. The API itself never imports the valuation service's code.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec

from services.core.registration import InvalidRegistration, PlateFormat, parse
from services.core.valuation_wire import MAX_BATCH, ValuationAnswer, WireError, answer_from_json, request_to_json

log = logging.getLogger("reggie.api.valuation")

FALLBACK_MODEL_VERSION = "fallback-heuristic-1"


class ValuationUnavailable(Exception):
    """The valuation service did not answer (timeout, error, throttling) even after one retry."""


class ValuationBackend(Protocol):
    def value_many(self, registrations: Sequence[str]) -> list[dict[str, Any]]: ...


# Base prices (GBP) by format and multipliers by mark length, from the rough shape of DVLA auction
# results: dateless and short marks fetch the most. Only used until the real model is importable.
_FALLBACK_BASE = {
    PlateFormat.DATELESS: 2500,
    PlateFormat.NORTHERN_IRELAND: 450,
    PlateFormat.SUFFIX: 500,
    PlateFormat.PREFIX: 400,
    PlateFormat.CURRENT: 300,
}
_FALLBACK_LENGTH_FACTOR = {2: 8.0, 3: 4.0, 4: 2.0, 5: 1.3}


def fallback_estimate(registration: str) -> dict[str, Any]:
    """A heuristic valuation in the valuation service's shape (see the module docstring)."""
    try:
        mark = parse(registration)
    except InvalidRegistration as exc:
        return {"registration": registration, "error": {"code": "invalid_registration", "message": exc.reason}}
    factor = _FALLBACK_LENGTH_FACTOR.get(len(mark.normalized), 1.0)
    price = int(round(_FALLBACK_BASE[mark.format] * factor, -1))
    low, high = int(round(price * 0.7, -1)), int(math.ceil(price * 1.4 / 10) * 10)
    return {
        "registration": mark.normalized,
        "price": price,
        "low": low,
        "high": high,
        "currency": "GBP",
        "weights": {"model": 0.0, "rules": 1.0},
        "explanation": (
            f"{mark.display} is a {len(mark.normalized)}-character {mark.format.value.replace('_', ' ')} mark; "
            f"this is a rough rule-of-thumb estimate (the valuation model is not available here)."
        ),
        "model_version": FALLBACK_MODEL_VERSION,
    }


class InProcessBackend:
    """Calls valuation code in this process (local stage and tests).

    ``loader`` (the local stack's) imports the valuation service (numpy and the model) on the first
    valuation, not at startup, so the local API starts fast; it returns ``None`` when the service is
    not importable, and the fallback estimate answers.
    """

    def __init__(
        self,
        value_many: Callable[[list[str]], list[dict[str, Any]]] | None,
        *,
        loader: Callable[[], Callable[[list[str]], list[dict[str, Any]]] | None] | None = None,
    ) -> None:
        """``value_many=None`` and no ``loader``: the fallback estimate."""
        self._value_many = value_many
        self._loader = loader
        self._lock = threading.Lock()

    def _resolve(self) -> Callable[[list[str]], list[dict[str, Any]]] | None:
        if self._loader is not None:
            with self._lock:
                if self._loader is not None:
                    self._value_many, self._loader = self._loader(), None
        return self._value_many

    def value_many(self, registrations: Sequence[str]) -> list[dict[str, Any]]:
        value_many = self._resolve()
        if value_many is None:
            return [fallback_estimate(r) for r in registrations]
        try:
            return list(value_many(list(registrations)))
        except Exception as exc:
            log.exception("the in-process valuation service failed")
            raise ValuationUnavailable(f"the valuation service failed: {type(exc).__name__}") from exc


class LambdaBackend:
    """Invokes the deployed valuation function synchronously, retrying exactly once."""

    def __init__(self, client: Any, function_name: str) -> None:
        self._client = client
        self._function_name = function_name

    def value_many(self, registrations: Sequence[str]) -> list[dict[str, Any]]:
        payload = request_to_json(list(registrations))
        last_error = "no attempt made"
        for attempt in (1, 2):
            try:
                response = self._client.invoke(
                    FunctionName=self._function_name, InvocationType="RequestResponse", Payload=payload
                )
                body = response["Payload"].read()
                if response.get("FunctionError"):
                    last_error = f"the function raised ({response['FunctionError']})"
                else:
                    return _results(answer_from_json(body), len(registrations))
            except Exception as exc:  # botocore errors, timeouts, malformed answers: all mean "try once more"
                last_error = f"{type(exc).__name__}: {exc}"
            log.warning("valuation invoke attempt %d failed: %s", attempt, last_error)
        raise ValuationUnavailable(last_error)


def _results(answer: ValuationAnswer, expected: int) -> list[dict[str, Any]]:
    """The answer's results as dicts, one per requested mark; :class:`WireError` for anything else."""
    if answer.error is not None:
        raise WireError(f"the function refused the request: {answer.error.code}: {answer.error.message}")
    if answer.results is None or len(answer.results) != expected:
        got = "no" if answer.results is None else len(answer.results)
        raise WireError(f"the function answered {got} results for {expected} registrations")
    return msgspec.to_builtins(answer.results)  # type: ignore[no-any-return]


class ValuationClient:
    def __init__(self, backend: ValuationBackend) -> None:
        self.backend = backend

    def value_many(self, registrations: Sequence[str]) -> list[dict[str, Any]]:
        if len(registrations) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} registrations per call")
        if not registrations:
            return []
        return self.backend.value_many(registrations)

    def ping(self) -> None:
        """Value one known mark end to end (the deep health check)."""
        result = self.value_many(["A1"])[0]
        if "error" in result:
            raise ValuationUnavailable(f"the valuation service refused a known mark: {result['error']}")
