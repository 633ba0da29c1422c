"""Registrations as the API receives them: parsed once, wherever they arrive.

:func:`parse_mark` is for a mark in a body; :data:`MARK_IN_PATH` is the dependency of a route whose
path carries one (``/plates/{registration:str}``): it hands the handler a parsed
:class:`~services.core.registration.Registration` named ``mark``, and a mark the DVLA never issues
is answered (422, ``invalid_registration``, with the reason) before the handler runs.
"""

from __future__ import annotations

from litestar.di import Provide

from services.api.errors import Invalid
from services.core.registration import InvalidRegistration, Registration, parse

__all__ = ["MARK_IN_PATH", "parse_mark"]


def parse_mark(text: str) -> Registration:
    try:
        return parse(text)
    except InvalidRegistration as exc:
        raise Invalid(
            f"{text!r} is not a valid UK registration: {exc.reason}.",
            code="invalid_registration",
            details={"reason": exc.reason},
        ) from None


def _mark_in_path(registration: str) -> Registration:
    return parse_mark(registration)


MARK_IN_PATH = Provide(_mark_in_path, sync_to_thread=False)
"""``dependencies={"mark": MARK_IN_PATH}`` on a controller whose paths name ``{registration:str}``."""
