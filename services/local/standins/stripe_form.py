"""Stripe's form encoding, read back: ``line_items[0][price_data][currency]=gbp`` into nested values.

stripe-python (``stripe._encode._api_encode``) sends every v1 request body as
``application/x-www-form-urlencoded`` pairs: a dict becomes ``key[sub]``, a list ``key[0]``, ``key[1]``
(always indexed), a boolean ``true``/``false``, and every value a string. Stripe's servers also
accept ``key[]`` (append), which curl users send. :func:`decode_form` rebuilds the nested structure
so the stand-in can validate it field by field, and rejects what Stripe rejects: a key that is both a
value and a container, or list indices with gaps.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["FormError", "decode_form"]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """The body is not a form Stripe would parse; ``param`` names the offending key."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def decode_form(body: bytes) -> dict[str, Any]:
    """Nested dicts and lists of strings, in the order the pairs were sent."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError):
        raise FormError("Invalid request body: it must be form-encoded UTF-8.", "") from None
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            raise FormError(f"Invalid parameter name: {key}", key)
        path = [match.group(1), *_PART.findall(match.group(2))]
        _insert(root, path, value, key)
    return _listify(root, "")


def _insert(node: dict[str, Any], path: list[str], value: str, key: str) -> None:
    head, rest = path[0], path[1:]
    if head == "":
        head = str(sum(1 for k in node if k.isdigit()))  # key[] appends
    if not rest:
        if isinstance(node.get(head), dict):
            raise FormError(f"Invalid {key}: it is given both as a value and as a hash.", key)
        node[head] = value
        return
    child = node.setdefault(head, {})
    if not isinstance(child, dict):
        raise FormError(f"Invalid {key}: it is given both as a value and as a hash.", key)
    _insert(child, rest, value, key)  # pyright: ignore[reportUnknownArgumentType]


def _listify(node: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Turn each dict whose keys are all indices into a list, checking they run 0, 1, 2... without gaps."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        name = f"{prefix}[{key}]" if prefix else key
        out[key] = _to_list_or_dict(value, name) if isinstance(value, dict) else value
    return out


def _to_list_or_dict(node: dict[str, Any], name: str) -> dict[str, Any] | list[Any]:
    converted = _listify(node, name)
    if converted and all(k.isdigit() for k in converted):
        indices = sorted(int(k) for k in converted)
        if indices != list(range(len(indices))):
            raise FormError(f"Invalid array: the indices of {name} must start at 0 and have no gaps.", name)
        return [converted[str(i)] for i in indices]
    return converted
