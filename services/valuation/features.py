"""Features of a registration, computed from the mark alone (never from the DVLA starting price).

Two layers: :func:`describe` turns a mark into a :class:`Mark` (the parsed registration plus the
patterns people pay for: the number 1, repeated digits, runs, what the mark reads as), and
:func:`vector` turns a ``Mark`` plus the learned encodings into the fixed numeric row the model and
the rules engine read. Everything here is plain Python so one valuation costs microseconds and the
runtime image needs no pandas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from services.core import registration as reg
from services.core.registration import InvalidRegistration, PlateFormat, Registration

FORMAT_CODES: dict[PlateFormat, int] = {
    PlateFormat.CURRENT: 0,
    PlateFormat.PREFIX: 1,
    PlateFormat.SUFFIX: 2,
    PlateFormat.DATELESS: 3,
    PlateFormat.NORTHERN_IRELAND: 4,
}

# How digits are read as letters on a plate (S1 MON reads SIMON, JAM 35 reads JAMES).
_DIGIT_AS_LETTER = str.maketrans("0123456789", "OIZEASGTBG")
_VOWELS = frozenset("AEIOU")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_EXACT = re.compile(r"([A-Z]{0,3})([0-9]{1,4})([A-Z]{0,3})")


@dataclass(frozen=True, slots=True)
class Mark:
    """A parsed mark with the string keys the learned encodings are looked up under."""

    registration: Registration
    reads_as: str
    """The whole mark with digits read as letters (``S1MON`` -> ``SIMON``)."""
    serial: str
    """The letter group buyers choose for: the random letters of current/prefix/suffix marks, else all letters."""
    tag: str
    """The leading letters: current memory tag, prefix/suffix age letter, dateless first letter."""
    segment: str
    """Format x shape, e.g. ``dateless:L1D1`` (letters before digits): the unit base prices are set per."""


def parse_fast(text: str) -> Registration:
    """Same answer as :func:`services.core.registration.parse`, about ten times faster on clean input.

    ``parse`` tries every split of every layout so it can correct mistypes. A mark typed exactly
    (the usual case, and every mark in auction files) has exactly one split, found by one regex;
    we hand that split to the parser's own rule check. Anything else takes the full parser, so the
    rules and the error messages stay in one place.
    """
    compact = reg.normalize(text) if isinstance(text, str) else ""
    match = _EXACT.fullmatch(compact) if len(compact) <= reg.MAX_LENGTH else None
    if match is not None:
        lead, digits, tail = match.groups()
        shape = (len(lead), len(digits), len(tail))
        if _is_layout(shape):
            groups = tuple((kind, text) for kind, text in (("L", lead), ("D", digits), ("L", tail)) if text)
            outcome = reg._validate(groups, ())  # pyright: ignore[reportPrivateUsage]  # the parser's own rules
            if isinstance(outcome, Registration):
                return outcome
    return reg.parse(text)


def _is_layout(shape: tuple[int, int, int]) -> bool:
    lead, digits, tail = shape
    if lead and tail:
        return (lead, digits, tail) == (2, 2, 3) or (lead == 1 and tail == 3) or (lead == 3 and tail == 1)
    return digits <= 4 and (lead or tail) > 0


@lru_cache(maxsize=65_536)
def describe(text: str) -> Mark:
    """Parse ``text`` and derive its lookup keys; raises :class:`InvalidRegistration`."""
    r = parse_fast(text)
    fmt = r.format
    if fmt is PlateFormat.CURRENT:
        tag, serial = r.letters[:2], r.letters[2:]
    elif fmt is PlateFormat.PREFIX:
        tag, serial = r.letters[0], r.letters[1:]
    elif fmt is PlateFormat.SUFFIX:
        tag, serial = r.letters[-1], r.letters[:-1]
    else:
        tag, serial = r.letters[0], r.letters
    letters_first = r.normalized[0].isalpha()
    shape = f"L{len(r.letters)}D{len(r.normalized) - len(r.letters)}"
    segment = f"{fmt.value}:{shape}{'' if letters_first else 'r'}"
    return Mark(r, r.normalized.translate(_DIGIT_AS_LETTER), serial, tag, segment)


def pattern_flags(mark: Mark) -> dict[str, bool]:
    """The price patterns the rules engine has a multiplier for (names are the multipliers' keys)."""
    r = mark.registration
    digits = "".join(c for c in r.normalized if c.isdigit())
    letters = r.letters
    dateless = r.format in (PlateFormat.DATELESS, PlateFormat.NORTHERN_IRELAND)
    return {
        "number_one": dateless and r.number == 1,
        "single_digit": dateless and r.number < 10,
        "repeated_digits": len(digits) >= 2 and len(set(digits)) == 1,
        "digit_run": len(digits) >= 3 and _is_run(digits, _DIGITS),
        "round_number": dateless and len(digits) >= 2 and digits.endswith("0"),
        "single_letter": len(letters) == 1,
        "repeated_letters": len(letters) >= 2 and len(set(letters)) == 1,
        "letter_run": len(letters) >= 3 and _is_run(letters, _ALPHABET),
        "palindrome": len(r.normalized) >= 3 and r.normalized == r.normalized[::-1],
    }


def _is_run(text: str, alphabet: str) -> bool:
    """Consecutive in ``alphabet``, up or down (``123``, ``CBA``)."""
    return text in alphabet or text[::-1] in alphabet


# Encoded keys: each learned encoding maps one of these strings to a smoothed mean residual.
ENCODED_KEYS: tuple[str, ...] = ("letters", "reads_as", "serial", "tag", "number")
LABEL_KEYS: tuple[str, ...] = ("reads_as", "letters")
"""Keys whose auctioneer category rates (names, fun, cars) are learned as well."""
LABELS: tuple[str, ...] = ("names", "fun", "cars")


def keys_of(mark: Mark) -> dict[str, str]:
    """The lookup key of ``mark`` for each encoded key, namespaced by format so groups stay comparable."""
    r = mark.registration
    fmt = r.format.value
    return {
        "letters": f"{fmt}:{r.letters}",
        "reads_as": mark.reads_as,
        "serial": f"{fmt}:{mark.serial}",
        "tag": f"{fmt}:{mark.tag}",
        "number": f"{mark.segment}:{r.number}",
    }


FLAG_NAMES: tuple[str, ...] = tuple(pattern_flags(describe("1 A")).keys())
BASE_FEATURES: tuple[str, ...] = (
    "format",
    "length",
    "letters",
    "digits",
    "letters_first",
    "number",
    "trailing_zeros",
    "distinct_chars",
    "distinct_letters",
    "vowels",
    "earliest_year",
    *FLAG_NAMES,
)
FEATURE_NAMES: tuple[str, ...] = (
    *BASE_FEATURES,
    *(f"enc_{k}" for k in ENCODED_KEYS),
    *(f"count_{k}" for k in ENCODED_KEYS),
    *(f"{label}_{k}" for k in LABEL_KEYS for label in LABELS),
)


def base_row(mark: Mark) -> list[float]:
    """The features that need nothing learned, in ``BASE_FEATURES`` order."""
    r = mark.registration
    compact = r.normalized
    digits = len(compact) - len(r.letters)
    number = str(r.number)
    flags = pattern_flags(mark)
    return [
        float(FORMAT_CODES[r.format]),
        float(len(compact)),
        float(len(r.letters)),
        float(digits),
        1.0 if compact[0].isalpha() else 0.0,
        float(r.number),
        float(len(number) - len(number.rstrip("0"))),
        float(len(set(compact))),
        float(len(set(r.letters))),
        float(sum(c in _VOWELS for c in r.letters)),
        float(r.earliest_year or 0),
        *(1.0 if flags[name] else 0.0 for name in FLAG_NAMES),
    ]


__all__ = [
    "BASE_FEATURES",
    "ENCODED_KEYS",
    "FEATURE_NAMES",
    "FLAG_NAMES",
    "LABELS",
    "LABEL_KEYS",
    "InvalidRegistration",
    "Mark",
    "base_row",
    "describe",
    "keys_of",
    "parse_fast",
    "pattern_flags",
]
