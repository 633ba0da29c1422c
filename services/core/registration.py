"""UK vehicle registration marks: normalisation, format classification and DVLA issuing rules.

Every service parses marks through :func:`parse`, so a registration means the same thing to the
API, the valuation model, the scraper and the database. The rules follow the DVLA's published
guidance (INF104 "Vehicle registration numbers and number plates") and the history of the five
formats still on the road:

* current (since September 2001): ``AB12 CDE``. Two-letter memory tag without I, Q or Z; a two-digit
  age identifier (March: the year's last two digits, September: plus 50); three random letters
  without I or Q.
* prefix (August 1983 to August 2001): ``A123 BCD``. An age letter, 1 to 999, three letters.
* suffix (1963 to July 1983): ``ABC 123D``. Three letters, 1 to 999, an age letter.
  Prefix and suffix age letters never use I, O, Q, U or Z.
* dateless (before 1963): 1 to 3 letters and 1 to 9999 in either order (``1 A``, ``ABC 123``,
  ``1234 AB``): a one- or two-letter area code, after a serial letter in three-letter marks. Great
  Britain's codes and serial letters never use I or Z (reserved for Ireland since 1903) or Q.
* Northern Ireland: a county code containing I or Z (``IA``, ``AZ``...), optionally after a serial
  letter, with 1 to 9999 in either order (``ABZ 1234``, ``1 IA``). Dateless too.
* the rest of Ireland before its 1987 system: the 1903 I-series codes of the other counties and
  cities (``IK`` Dublin, ``IT`` Leitrim, ``PI`` Cork...) and the Irish Free State's Z-first codes from
  1927 (``Z``, ``ZA``...). Vehicles brought over keep such marks, so they are UK marks too, and the
  DVLA sells the ones it holds (``KIT 1`` reads serial K, code IT). They parse as dateless.

A number part never starts with 0, a mark never has more than 7 characters, and every mark has at
least one digit. The parser forgives what people commonly mistype: case, spaces and hyphens, and
the letter O or I typed where the format demands the digit 0 or 1 (and the reverse), but only when
the uncorrected input is not itself a valid mark.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "InvalidRegistration",
    "PlateFormat",
    "Registration",
    "is_valid",
    "normalize",
    "parse",
]

MAX_LENGTH = 7
"""The longest mark the DVLA issues (current format, and the longest dateless marks)."""


class PlateFormat(StrEnum):
    CURRENT = "current"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    DATELESS = "dateless"
    NORTHERN_IRELAND = "northern_ireland"


class InvalidRegistration(ValueError):
    """The input is not a mark the DVLA issues; ``reason`` says why in plain English."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{text!r} is not a valid UK registration: {reason}")
        self.text = text
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Registration:
    """A valid mark. ``earliest_year`` is the first year of first registration of a vehicle that
    may carry it (a mark may not make a vehicle look newer); ``None`` for dateless marks, which fit
    any vehicle."""

    normalized: str
    """Upper case, no spaces: the key everything is stored and compared under (``AB12CDE``)."""
    display: str
    """The canonical spacing the DVLA prints (``AB12 CDE``, ``A123 BCD``, ``1 A``)."""
    format: PlateFormat
    age_identifier: str | None
    """``"12"`` for the current format, the age letter for prefix and suffix marks, else ``None``."""
    earliest_year: int | None
    issued_from: date | None
    """The first day a vehicle could be registered with this age identifier."""
    letters: str
    """All the letters of the mark, in order (``ABCDE`` for ``AB12 CDE``)."""
    number: int
    """The number part (the age identifier for the current format)."""
    corrections: tuple[str, ...] = ()
    """Mistypes the parser corrected, e.g. ``"O read as 0 at position 3"``."""


# Northern Ireland county and city codes (AZ-YZ and the I series).
NI_CODES = frozenset(
    {
        "AZ", "BZ", "CZ", "DZ", "EZ", "FZ", "GZ", "HZ", "IA", "IB", "IG", "IJ", "IL", "IW", "JI", "JZ", "KZ",
        "LZ", "MZ", "NZ", "OI", "OZ", "PZ", "RZ", "SZ", "TZ", "UI", "UZ", "VZ", "WZ", "XI", "XZ", "YZ",
    }
)  # fmt: skip

# The codes of the rest of Ireland before 1987 (what became the Irish Free State, then the Republic):
# the 1903 I-series, allocated in alphabetical order of counties and then cities, minus those of the
# six northern counties above; IV (Limerick, once IU was used up); and the Free State's Z-first series
# from 1927, including the single letter Z (Dublin County, 1927-38). ZZ (temporary imports) is not a
# permanent mark and stays out. No code pairs I with G, S or V, nor I with I.
IRISH_CODES = frozenset(
    {
        "IC", "ID", "IE", "IF", "IH", "IK", "IM", "IN", "IO", "IP", "IR", "IT", "IU", "IV", "IX", "IY", "IZ",
        "AI", "BI", "CI", "DI", "EI", "FI", "HI", "KI", "LI", "MI", "NI", "PI", "RI", "TI", "WI", "YI",
        "Z", "ZA", "ZB", "ZC", "ZD", "ZE", "ZF", "ZH", "ZI", "ZJ", "ZK", "ZL", "ZM", "ZN", "ZO", "ZP", "ZR",
        "ZT", "ZU", "ZV", "ZW", "ZX", "ZY",
    }
)  # fmt: skip

# Age letters: when vehicles carrying each letter were first registered.
_PREFIX_LETTERS: dict[str, date] = {
    "A": date(1983, 8, 1), "B": date(1984, 8, 1), "C": date(1985, 8, 1), "D": date(1986, 8, 1),
    "E": date(1987, 8, 1), "F": date(1988, 8, 1), "G": date(1989, 8, 1), "H": date(1990, 8, 1),
    "J": date(1991, 8, 1), "K": date(1992, 8, 1), "L": date(1993, 8, 1), "M": date(1994, 8, 1),
    "N": date(1995, 8, 1), "P": date(1996, 8, 1), "R": date(1997, 8, 1), "S": date(1998, 8, 1),
    "T": date(1999, 3, 1), "V": date(1999, 9, 1), "W": date(2000, 3, 1), "X": date(2000, 9, 1),
    "Y": date(2001, 3, 1),
}  # fmt: skip
_SUFFIX_LETTERS: dict[str, date] = {
    "A": date(1963, 1, 1), "B": date(1964, 1, 1), "C": date(1965, 1, 1), "D": date(1966, 1, 1),
    "E": date(1967, 1, 1), "F": date(1967, 8, 1), "G": date(1968, 8, 1), "H": date(1969, 8, 1),
    "J": date(1970, 8, 1), "K": date(1971, 8, 1), "L": date(1972, 8, 1), "M": date(1973, 8, 1),
    "N": date(1974, 8, 1), "P": date(1975, 8, 1), "R": date(1976, 8, 1), "S": date(1977, 8, 1),
    "T": date(1978, 8, 1), "V": date(1979, 8, 1), "W": date(1980, 8, 1), "X": date(1981, 8, 1),
    "Y": date(1982, 8, 1),
}  # fmt: skip
_NEVER_AGE_LETTERS = "IOQUZ"

# What people type for a digit where a letter belongs, and the reverse.
_AS_DIGIT = {"O": "0", "I": "1"}
_AS_LETTER = {v: k for k, v in _AS_DIGIT.items()}

_SEPARATORS = re.compile(r"[\s\-]+")
_EXACT = re.compile(r"([A-Z]{0,3})([0-9]{1,4})([A-Z]{0,3})")
_ALLOWED = re.compile(r"[A-Z0-9]*")

# Each layout is a sequence of groups: (kind, min length, max length), kind "L" letters or "D" digits.
_Layout = tuple[tuple[str, int, int], ...]
_LAYOUTS: tuple[tuple[str, _Layout], ...] = (
    ("current", (("L", 2, 2), ("D", 2, 2), ("L", 3, 3))),
    ("prefix", (("L", 1, 1), ("D", 1, 3), ("L", 3, 3))),
    ("suffix", (("L", 3, 3), ("D", 1, 3), ("L", 1, 1))),
    ("letters_first", (("L", 1, 3), ("D", 1, 4))),
    ("digits_first", (("D", 1, 4), ("L", 1, 3))),
)


def normalize(text: str) -> str:
    """Upper-case ``text`` and drop spaces and hyphens; no other correction."""
    return _SEPARATORS.sub("", text).upper()


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except InvalidRegistration:
        return False
    return True


def parse(text: str) -> Registration:
    """Parse a mark as a person might type it; raise :class:`InvalidRegistration` saying why not."""
    if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]  # callers pass JSON
        raise InvalidRegistration(repr(text), "a registration must be text")
    compact = normalize(text)
    if not compact:
        raise InvalidRegistration(text, "it is empty")
    if not _ALLOWED.fullmatch(compact):
        bad = sorted({c for c in compact if not ("A" <= c <= "Z" or "0" <= c <= "9")})
        raise InvalidRegistration(
            text, f"it contains {', '.join(repr(c) for c in bad)}; only letters A-Z and digits 0-9 are used"
        )
    if len(compact) > MAX_LENGTH:
        raise InvalidRegistration(text, f"it has {len(compact)} characters; a UK mark has at most {MAX_LENGTH}")

    # A mark typed exactly (the usual case, and every mark in an auction file) has one split into letter
    # and digit runs; checking that split alone is about ten times faster than searching every reading.
    return _exact_reading(compact) or _search(text, compact)


def _exact_reading(compact: str) -> Registration | None:
    """The mark as typed, without corrections, or ``None`` when that reading is not one the DVLA issues."""
    match = _EXACT.fullmatch(compact)
    if match is None:
        return None
    lead, digits, tail = match.groups()
    if lead and tail:
        groups: _Groups = (("L", lead), ("D", digits), ("L", tail))
        shape = (len(lead), len(digits), len(tail))
        # current (2, 2, 3); prefix (1, 1-3, 3); suffix (3, 1-3, 1)
        fits = shape == (2, 2, 3) or (shape[1] <= 3 and (shape[0], shape[2]) in ((1, 3), (3, 1)))
    else:
        groups = (("L", lead), ("D", digits)) if lead else (("D", digits), ("L", tail))
        fits = bool(lead or tail)
    if not fits:
        return None
    outcome = _validate(groups, ())
    return outcome if isinstance(outcome, Registration) else None


def _search(text: str, compact: str) -> Registration:
    """Try every reading, corrections included, cheapest first; raise with the most telling reason."""
    first_error: str | None = None
    best: Registration | None = None
    best_cost = 0
    for cost, groups, corrections in _readings(compact):
        outcome = _validate(groups, corrections)
        if isinstance(outcome, str):
            if first_error is None:
                first_error = outcome
            continue
        if best is None or cost < best_cost:
            best, best_cost = outcome, cost
        if cost == 0:
            break
    if best is not None:
        return best
    if not any(c.isdigit() for c in compact):
        raise InvalidRegistration(text, "it has no digit; every DVLA mark has at least one")
    raise InvalidRegistration(text, first_error or "it matches no DVLA format (current, prefix, suffix, dateless)")


_Groups = tuple[tuple[str, str], ...]


def _readings(compact: str) -> list[tuple[int, _Groups, tuple[str, ...]]]:
    """Every way to split ``compact`` into a layout's groups, cheapest (fewest corrections) first.

    Each reading is (cost, groups as (kind, text) pairs, corrections made). Exact readings come
    first, so a correction is only ever the fallback.
    """
    found: list[tuple[int, int, _Groups, tuple[str, ...]]] = []
    for order, (_, layout) in enumerate(_LAYOUTS):
        for lengths in itertools.product(*(range(lo, hi + 1) for _, lo, hi in layout)):
            if sum(lengths) != len(compact):
                continue
            reading = _read(compact, tuple(kind for kind, _, _ in layout), lengths)
            if reading is not None:
                groups, corrections = reading
                found.append((len(corrections), order, groups, corrections))
    found.sort(key=lambda r: (r[0], r[1]))
    return [(cost, groups, corrections) for cost, _, groups, corrections in found]


def _read(compact: str, kinds: tuple[str, ...], lengths: tuple[int, ...]) -> tuple[_Groups, tuple[str, ...]] | None:
    """Read ``compact`` as groups of the given kinds and lengths, or ``None`` if a character can't fit."""
    groups: list[tuple[str, str]] = []
    corrections: list[str] = []
    position = 0
    for kind, length in zip(kinds, lengths, strict=True):
        chunk: list[str] = []
        for char in compact[position : position + length]:
            position += 1
            fixed = _coerce(char, kind)
            if fixed is None:
                return None
            if fixed != char:
                corrections.append(f"{char} read as {fixed} at position {position}")
            chunk.append(fixed)
        groups.append((kind, "".join(chunk)))
    return tuple(groups), tuple(corrections)


def _coerce(char: str, kind: str) -> str | None:
    if kind == "D":
        return char if char.isdigit() else _AS_DIGIT.get(char)
    return char if char.isalpha() else _AS_LETTER.get(char)


def _validate(groups: _Groups, corrections: tuple[str, ...]) -> Registration | str:
    """Apply the DVLA's rules to one reading; a string is the reason the reading is not issued."""
    kinds = "".join(kind for kind, _ in groups)
    texts = [text for _, text in groups]
    if kinds == "LDL" and len(texts[0]) == 2 and len(texts[1]) == 2 and len(texts[2]) == 3:
        return _current(*texts, corrections=corrections)
    number = texts[kinds.index("D")]
    if number.startswith("0"):
        return f"the number {number} starts with 0, which the DVLA never issues"
    if kinds == "LDL" and len(texts[0]) == 1:
        return _aged(PlateFormat.PREFIX, texts[0], number, texts[2], corrections)
    if kinds == "LDL":
        return _aged(PlateFormat.SUFFIX, texts[2], number, texts[0], corrections)
    letters = texts[0] if kinds == "LD" else texts[1]
    return _dateless(letters, number, letters_first=kinds == "LD", corrections=corrections)


def _current(tag: str, age: str, serial: str, corrections: tuple[str, ...]) -> Registration | str:
    if bad := _letters_in(tag, "IQZ"):
        return f"the memory tag {tag} contains {bad}; I, Q and Z are never used in the first two letters"
    if bad := _letters_in(serial, "IQ"):
        return f"the letters {serial} contain {bad}; I and Q are never used in a current-format mark"
    value = int(age)
    if value == 1:
        return "the age identifier 01 was never issued; the current format began with 51 in September 2001"
    # March releases use the year (02-50); September releases add 50 (51-99, then 00 for 2050).
    march = 2 <= value <= 50
    issued = date(2000 + value, 3, 1) if march else date(2000 + (value - 50 if value else 50), 9, 1)
    return Registration(
        normalized=tag + age + serial,
        display=f"{tag}{age} {serial}",
        format=PlateFormat.CURRENT,
        age_identifier=age,
        earliest_year=issued.year,
        issued_from=issued,
        letters=tag + serial,
        number=value,
        corrections=corrections,
    )


def _aged(fmt: PlateFormat, age: str, number: str, serial: str, corrections: tuple[str, ...]) -> Registration | str:
    if age in _NEVER_AGE_LETTERS:
        return f"{age} is never a {fmt.value} age letter; I, O, Q, U and Z are not used"
    if "Q" in serial:
        return f"the letters {serial} contain Q, which the DVLA uses only for vehicles of unknown age"
    issued = (_PREFIX_LETTERS if fmt is PlateFormat.PREFIX else _SUFFIX_LETTERS)[age]
    prefix = fmt is PlateFormat.PREFIX
    return Registration(
        normalized=f"{age}{number}{serial}" if prefix else f"{serial}{number}{age}",
        display=f"{age}{number} {serial}" if prefix else f"{serial} {number}{age}",
        format=fmt,
        age_identifier=age,
        earliest_year=issued.year,
        issued_from=issued,
        letters=age + serial if prefix else serial + age,
        number=int(number),
        corrections=corrections,
    )


def _dateless(letters: str, number: str, *, letters_first: bool, corrections: tuple[str, ...]) -> Registration | str:
    if "Q" in letters:
        return f"the letters {letters} contain Q, which the DVLA never uses in a dateless mark"
    # The area code is the last two letters (the letter alone in a one-letter mark); a serial letter
    # before an Irish code may be any letter but Q, as those counties issued them.
    code = letters[-2:]
    irish = len(letters) >= 2 and code in NI_CODES
    if not irish and code not in IRISH_CODES and (bad := _letters_in(letters, "IZ")):
        return (
            f"the letters {letters} contain {bad}, used only in Irish county codes "
            "(Northern Ireland's such as IA or AZ, the rest of Ireland's before 1987 such as IK or ZA)"
        )
    compact = letters + number if letters_first else number + letters
    return Registration(
        normalized=compact,
        display=f"{letters} {number}" if letters_first else f"{number} {letters}",
        format=PlateFormat.NORTHERN_IRELAND if irish else PlateFormat.DATELESS,
        age_identifier=None,
        earliest_year=None,
        issued_from=None,
        letters=letters,
        number=int(number),
        corrections=corrections,
    )


def _letters_in(text: str, forbidden: str) -> str:
    """The forbidden letters found in ``text``, for an error message ("" when none)."""
    found = sorted({c for c in text if c in forbidden})
    return " and ".join(found)
