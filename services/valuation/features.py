"""Features of a registration, computed from the mark alone (never from the DVLA starting price).

Two layers: :func:`describe` turns a mark into a :class:`Mark` (the parsed registration plus the
patterns people pay for: the number 1, repeated digits, runs, what the mark reads as), and
:func:`vector` turns a ``Mark`` plus the learned encodings into the fixed numeric row the model and
the rules engine read. Everything here is plain Python so one valuation costs microseconds and the
runtime image needs no pandas.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

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
_NO_VOWELS = str.maketrans("", "", "AEIOU")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"


class Mark(NamedTuple):
    """A parsed mark with everything the model and the rules read, computed once by :func:`describe`.

    A named tuple rather than a frozen dataclass: it is built for every valued mark, and a frozen
    dataclass's ``__init__`` costs several microseconds more."""

    registration: Registration
    fmt: str
    """``registration.format.value`` (enum attribute access is slow enough to matter in bulk)."""
    reads_as: str
    """The whole mark with digits read as letters (``S1MON`` -> ``SIMON``)."""
    serial: str
    """The letter group buyers choose for: the random letters of current/prefix/suffix marks, else all letters."""
    tag: str
    """The leading letters: current memory tag, prefix/suffix age letter, dateless first letter."""
    segment: str
    """Format x shape, e.g. ``dateless:L1D1r`` (``r``: digits first): the unit model weights are set per."""
    flags: tuple[bool, ...]
    """The price patterns, in ``FLAG_NAMES`` order."""
    row: tuple[float, ...]
    """The features that need nothing learned, in ``BASE_FEATURES`` order."""
    keys: tuple[str, ...]
    """Lookup keys of the learned encodings, in ``ENCODED_KEYS`` order."""


FLAG_NAMES: tuple[str, ...] = (
    "number_one",
    "single_digit",
    "repeated_digits",
    "digit_run",
    "round_number",
    "single_letter",
    "repeated_letters",
    "letter_run",
    "palindrome",
)
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
# Encoded keys: each learned encoding maps one of these strings to a smoothed mean residual.
# ``body`` is the mark without its age identifier (``A12 DAM`` -> ``12DAM``): the same mark with
# another age letter, or the very mark sold before. ``any_serial`` and ``any_letters`` pool a letter
# group across formats (``RON`` in ``AA70 RON`` and in ``RON 1X``), which reaches groups a format
# has rarely sold. Validation (blocks 34-38 and 29-33) chose these three over first/last letter pairs.
ENCODED_KEYS: tuple[str, ...] = ("letters", "reads_as", "serial", "tag", "number", "body", "any_serial", "any_letters")
LABEL_KEYS: tuple[str, ...] = ("reads_as", "letters")
"""Keys whose auctioneer category rates (names, fun, cars) are learned as well."""
LABELS: tuple[str, ...] = ("names", "fun", "cars")
FEATURE_NAMES: tuple[str, ...] = (
    *BASE_FEATURES,
    *(f"enc_{k}" for k in ENCODED_KEYS),
    *(f"count_{k}" for k in ENCODED_KEYS),
    *(f"{label}_{k}" for k in LABEL_KEYS for label in LABELS),
)
_DATELESS = frozenset({PlateFormat.DATELESS, PlateFormat.NORTHERN_IRELAND})


@lru_cache(maxsize=65_536)
def describe(text: str) -> Mark:
    """Parse ``text`` and derive every feature that needs nothing learned; raises :class:`InvalidRegistration`."""
    r = reg.parse(text)
    fmt = r.format
    letters, compact, number = r.letters, r.normalized, r.number
    if fmt is PlateFormat.CURRENT:
        tag, serial, body = letters[:2], letters[2:], compact[2:]
    elif fmt is PlateFormat.PREFIX:
        tag, serial, body = letters[0], letters[1:], compact[1:]
    elif fmt is PlateFormat.SUFFIX:
        tag, serial, body = letters[-1], letters[:-1], compact[:-1]
    else:
        tag, serial, body = letters[0], letters, compact
    letters_first = compact[0].isalpha()
    digits = compact[2:4] if fmt is PlateFormat.CURRENT else str(number)  # the age "05" keeps its zero
    n_digits = len(compact) - len(letters)
    value = fmt.value
    segment = f"{value}:L{len(letters)}D{n_digits}{'' if letters_first else 'r'}"
    dateless = fmt in _DATELESS
    flags = (
        dateless and number == 1,
        dateless and number < 10,
        len(digits) >= 2 and len(set(digits)) == 1,
        len(digits) >= 3 and _is_run(digits, _DIGITS),
        dateless and len(digits) >= 2 and digits.endswith("0"),
        len(letters) == 1,
        len(letters) >= 2 and len(set(letters)) == 1,
        len(letters) >= 3 and _is_run(letters, _ALPHABET),
        len(compact) >= 3 and compact == compact[::-1],
    )
    text_number = str(number)
    row = (  # ints and bools are fine: numpy turns the rows into float64
        FORMAT_CODES[fmt],
        len(compact),
        len(letters),
        n_digits,
        letters_first,
        number,
        len(text_number) - len(text_number.rstrip("0")),
        len(set(compact)),
        len(set(letters)),
        len(letters) - len(letters.translate(_NO_VOWELS)),
        r.earliest_year or 0,
        *flags,
    )
    reads_as = compact.translate(_DIGIT_AS_LETTER)
    keys = (
        f"{value}:{letters}",
        reads_as,
        f"{value}:{serial}",
        f"{value}:{tag}",
        f"{segment}:{number}",
        f"{value}:{body}",
        serial,
        letters,
    )
    return Mark(r, value, reads_as, serial, tag, segment, flags, row, keys)


def pattern_flags(mark: Mark) -> dict[str, bool]:
    """The price patterns the rules engine has a multiplier for (names are the multipliers' keys)."""
    return dict(zip(FLAG_NAMES, mark.flags, strict=True))


def _is_run(text: str, alphabet: str) -> bool:
    """Consecutive in ``alphabet``, up or down (``123``, ``CBA``)."""
    return text in alphabet or text[::-1] in alphabet


def keys_of(mark: Mark) -> dict[str, str]:
    """The lookup key of ``mark`` for each encoded key, namespaced by format so groups stay comparable."""
    return dict(zip(ENCODED_KEYS, mark.keys, strict=True))


def base_row(mark: Mark) -> list[float]:
    """The features that need nothing learned, in ``BASE_FEATURES`` order."""
    return list(mark.row)


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
    "pattern_flags",
]
