"""The registration parser: every format, every DVLA rule it enforces, and round trips."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.registration import (
    IRISH_CODES,
    NI_CODES,
    InvalidRegistration,
    PlateFormat,
    _search,
    is_valid,
    normalize,
    parse,
)

SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared/data"
SHARED_AUCTIONS = SHARED_DATA / "dvla-auctions-2021-2024/combined_auction_results.csv"


@pytest.mark.parametrize(
    ("text", "display", "fmt", "age", "year"),
    [
        ("AB12 CDE", "AB12 CDE", PlateFormat.CURRENT, "12", 2012),
        ("ab62cde", "AB62 CDE", PlateFormat.CURRENT, "62", 2012),
        ("LA51 ABC", "LA51 ABC", PlateFormat.CURRENT, "51", 2001),
        ("MA02 XYZ", "MA02 XYZ", PlateFormat.CURRENT, "02", 2002),
        ("SR76 BMZ", "SR76 BMZ", PlateFormat.CURRENT, "76", 2026),
        ("AA50 AAA", "AA50 AAA", PlateFormat.CURRENT, "50", 2050),
        ("AA00 AAA", "AA00 AAA", PlateFormat.CURRENT, "00", 2050),
        ("A123 BCD", "A123 BCD", PlateFormat.PREFIX, "A", 1983),
        ("p1 abc", "P1 ABC", PlateFormat.PREFIX, "P", 1996),
        ("Y999 XYZ", "Y999 XYZ", PlateFormat.PREFIX, "Y", 2001),
        ("T10 ABC", "T10 ABC", PlateFormat.PREFIX, "T", 1999),
        ("ABC 123D", "ABC 123D", PlateFormat.SUFFIX, "D", 1966),
        ("AAN17L", "AAN 17L", PlateFormat.SUFFIX, "L", 1972),
        ("XYZ 1A", "XYZ 1A", PlateFormat.SUFFIX, "A", 1963),
        ("1 A", "1 A", PlateFormat.DATELESS, None, None),
        ("a1", "A 1", PlateFormat.DATELESS, None, None),
        ("479 AAV", "479 AAV", PlateFormat.DATELESS, None, None),
        ("1234 AB", "1234 AB", PlateFormat.DATELESS, None, None),
        ("ABC 9999", "ABC 9999", PlateFormat.DATELESS, None, None),
        ("AAZ 550", "AAZ 550", PlateFormat.NORTHERN_IRELAND, None, None),
        ("1 IA", "1 IA", PlateFormat.NORTHERN_IRELAND, None, None),
        ("IXZ 2018", "IXZ 2018", PlateFormat.NORTHERN_IRELAND, None, None),
        ("IIG 50", "IIG 50", PlateFormat.NORTHERN_IRELAND, None, None),
        ("ZIA 1", "ZIA 1", PlateFormat.NORTHERN_IRELAND, None, None),
        ("  ab-12  cde ", "AB12 CDE", PlateFormat.CURRENT, "12", 2012),
    ],
)
def test_parses_each_format(text: str, display: str, fmt: PlateFormat, age: str | None, year: int | None) -> None:
    reg = parse(text)
    assert (reg.display, reg.format, reg.age_identifier, reg.earliest_year) == (display, fmt, age, year)
    assert reg.normalized == display.replace(" ", "")
    assert reg.corrections == ()


# Marks under the codes of the rest of Ireland before 1987 (1903's I-series outside the six northern
# counties, the Free State's Z-first series): vehicles brought over keep them, and the DVLA sells the
# ones it holds, so three-letter marks with an I outside Northern Ireland's codes must parse.
@pytest.mark.parametrize(
    "mark",
    [
        "KIT 1",  # serial K, IT Leitrim
        "TIP 123",  # IP Kilkenny
        "BIN 7",  # IN Kerry
        "MIX 99",  # IX Longford
        "ABI 1",  # BI Monaghan, the first three-letter mark after BI 9999
        "ZBI 999",  # the Republic used Z as a serial letter
        "LIZ 4",  # IZ Mayo
        "JIV 1234",  # IV Limerick
        "IK 1",
        "1 RI",  # RI Dublin City, reversed
        "ZA 1",  # the Free State's Z-first series
        "AZB 123",  # AZ is Belfast, but as the last two letters ZB (Cork) is the code
        "Z 999",  # Dublin County, 1927-38
    ],
)
def test_historic_irish_codes_outside_northern_ireland_parse_as_dateless(mark: str) -> None:
    reg = parse(mark)
    assert reg.display == mark
    assert reg.format is PlateFormat.DATELESS
    assert reg.corrections == ()


@pytest.mark.parametrize("code", sorted(NI_CODES | IRISH_CODES - {"Z"}), ids=lambda code: code)
def test_every_irish_code_parses_alone_reversed_and_after_a_serial(code: str) -> None:
    for mark in (f"{code} 1", f"9999 {code}", f"A{code} 123", f"Y{code} 1"):
        assert parse(mark).display == mark
    assert parse(f"A{code} 1").format is (PlateFormat.NORTHERN_IRELAND if code in NI_CODES else PlateFormat.DATELESS)


def test_great_britain_never_used_i_or_z_in_its_codes_or_serials() -> None:
    gb = [a + b for a in "ABCDEFGHJKLMNOPRSTUVWXY" for b in "ABCDEFGHJKLMNOPRSTUVWXY"]
    for code in gb:
        assert parse(f"{code} 1").format is PlateFormat.DATELESS
        for serial in "IZ":
            with pytest.raises(InvalidRegistration, match="used only in Irish county codes"):
                parse(f"{serial}{code} 123")


def test_september_identifier_means_a_vehicle_from_september() -> None:
    reg = parse("AB71 CDE")
    assert reg.issued_from is not None
    assert (reg.issued_from.year, reg.issued_from.month) == (2021, 9)
    assert reg.number == 71


@pytest.mark.parametrize(
    ("typed", "display", "corrections"),
    [
        ("AB1O CDE", "AB10 CDE", ("O read as 0 at position 4",)),
        ("ABI2 CDE", "AB12 CDE", ("I read as 1 at position 3",)),
        ("AB12 C0E", "AB12 COE", ("0 read as O at position 6",)),
        ("ABC 1O0D", "ABC 100D", ("O read as 0 at position 5",)),
        # An I can never be a suffix age letter, so it is read as the digit it looks like.
        ("ABC 123I", "ABC 1231", ("I read as 1 at position 7",)),
        ("I123 ABC", "1123 ABC", ("I read as 1 at position 1",)),
    ],
)
def test_corrects_common_confusions_where_the_format_demands_it(
    typed: str, display: str, corrections: tuple[str, ...]
) -> None:
    reg = parse(typed)
    assert reg.display == display
    assert reg.corrections == corrections


def test_exact_reading_wins_over_a_correction() -> None:
    # "1O" is a valid dateless mark as typed (the letter O); it must not become "10".
    assert parse("1O").display == "1 O"


@pytest.mark.parametrize(
    ("text", "reason_fragment"),
    [
        ("IA12 CDE", "I, Q and Z are never used in the first two letters"),
        ("AQ12 CDE", "I, Q and Z are never used in the first two letters"),
        ("ZA12 CDE", "I, Q and Z are never used in the first two letters"),
        ("AB12 CQE", "I and Q are never used in a current-format mark"),
        ("AB12 CIE", "I and Q are never used in a current-format mark"),
        ("AB01 CDE", "01 was never issued"),
        ("Q123 ABC", "Q is never a prefix age letter"),
        ("U123 ABC", "U is never a prefix age letter"),
        ("Z123 ABC", "Z is never a prefix age letter"),
        ("ABC 123U", "U is never a suffix age letter"),
        ("ABC 123Z", "Z is never a suffix age letter"),
        ("ABC 123Q", "Q is never a suffix age letter"),
        ("A01 BCD", "starts with 0"),
        ("0123 AB", "starts with 0"),
        ("ABC 0", "starts with 0"),
        ("ABCD 1234", "at most 7"),
        ("ABCDEF", "no digit"),
        ("AB12 CD!", "only letters A-Z and digits 0-9"),
        ("AB12 ÇDE", "only letters A-Z and digits 0-9"),
        ("", "empty"),
        ("   ", "empty"),
        ("QA 1", "contain Q"),
        ("ZZ 1", "used only in Irish county codes"),
        ("ZS 1", "used only in Irish county codes"),
        ("GIS 12", "used only in Irish county codes"),
        ("IAB 123", "used only in Irish county codes"),
        ("12345 A", "matches no DVLA format"),
        ("ABCD 12", "matches no DVLA format"),
    ],
)
def test_rejects_what_the_dvla_never_issues(text: str, reason_fragment: str) -> None:
    with pytest.raises(InvalidRegistration) as caught:
        parse(text)
    assert reason_fragment in caught.value.reason
    assert caught.value.text == text
    assert not is_valid(text)


def test_rejects_non_text_without_crashing() -> None:
    with pytest.raises(InvalidRegistration, match="must be text"):
        parse(123)  # type: ignore[arg-type]


# Strategies that build marks the DVLA issues, format by format.
_current_tag = st.text("ABCDEFGHJKLMNOPRSTUVWXY", min_size=2, max_size=2)
_current_serial = st.text("ABCDEFGHJKLMNOPRSTUVWXYZ", min_size=3, max_size=3)
_current_age = st.integers(2, 100).map(lambda n: f"{n % 100:02d}")
_age_letters = st.sampled_from("ABCDEFGHJKLMNPRSTVWXY")
_gb_letters = "ABCDEFGHJKLMNOPRSTUVWXY"
_number = st.integers(1, 999).map(str)
_long_number = st.integers(1, 9999).map(str)

valid_marks = st.one_of(
    st.builds(lambda t, a, s: f"{t}{a} {s}", _current_tag, _current_age, _current_serial),
    st.builds(lambda a, n, s: f"{a}{n} {s}", _age_letters, _number, st.text(_gb_letters, min_size=3, max_size=3)),
    st.builds(lambda s, n, a: f"{s} {n}{a}", st.text(_gb_letters, min_size=3, max_size=3), _number, _age_letters),
    st.builds(lambda s, n: f"{s} {n}", st.text(_gb_letters, min_size=1, max_size=3), _long_number),
    st.builds(lambda n, s: f"{n} {s}", _long_number, st.text(_gb_letters, min_size=1, max_size=3)),
)


@given(valid_marks)
def test_display_round_trips(mark: str) -> None:
    reg = parse(mark)
    assert reg.display == mark
    assert parse(reg.display) == reg
    assert parse(reg.normalized) == reg
    assert parse(mark.lower()) == reg


@given(valid_marks, st.lists(st.sampled_from([" ", "-", "  "]), max_size=3), st.randoms())
def test_spacing_and_case_never_change_the_mark(mark: str, separators: list[str], rnd: random.Random) -> None:
    compact = mark.replace(" ", "")
    chars = list(compact)
    for sep in separators:
        chars.insert(rnd.randrange(len(chars) + 1), sep)
    assert parse("".join(chars)).normalized == parse(mark).normalized


@given(st.text(max_size=12))
def test_any_text_parses_or_raises_invalid_registration(text: str) -> None:
    try:
        reg = parse(text)
    except InvalidRegistration as error:
        reason = error.reason
        assert reason
    else:
        assert len(reg.normalized) <= 7
        assert reg.normalized == normalize(reg.display)
        assert any(c.isdigit() for c in reg.normalized)


def _outcome(read: Callable[[], object]) -> object:
    try:
        return read()
    except InvalidRegistration as error:
        return error.reason


@pytest.mark.parametrize(
    "text", ["AB12 CDE", "A123 BCD", "ABC 123D", "1 A", "1234 AB", "IAZ 123", "AB1O CDE", "AB01 CDE"]
)
def test_exact_fast_path_gives_the_full_searchs_answer_on_known_marks(text: str) -> None:
    assert _outcome(lambda: parse(text)) == _outcome(lambda: _search(text, normalize(text)))


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -", min_size=1, max_size=9))
def test_exact_fast_path_gives_the_full_searchs_answer(text: str) -> None:
    compact = normalize(text)
    if compact and len(compact) <= 7:  # longer or empty input never reaches either path
        assert _outcome(lambda: parse(text)) == _outcome(lambda: _search(text, compact))


@pytest.mark.skipif(not SHARED_AUCTIONS.exists(), reason="the shared DVLA auction data is not beside this checkout")
def test_every_mark_the_dvla_auctioned_parses_to_its_listed_spacing() -> None:
    rows = list(csv.DictReader(SHARED_AUCTIONS.open(newline="")))
    marks = [row["reg"].strip() for row in rows if row["reg"].strip() != "Withdrawn"]
    assert len(marks) > 80_000
    wrong = [(mark, parse(mark).display) for mark in marks if parse(mark).display != mark]
    assert wrong == []
    # The exact fast path and the full search agree on every real mark.
    assert [m for m in marks if parse(m) != _search(m, normalize(m))] == []
    formats = {parse(mark).format for mark in marks}
    assert formats == set(PlateFormat)


def test_three_letter_dateless_marks_with_i_or_z_are_refused_only_under_codes_ireland_never_had() -> None:
    """Every three-letter group with an I or a Z, checked against the historic code tables: it parses
    exactly when its code (the last two letters) is one Northern Ireland or the rest of Ireland
    issued, whatever the serial letter before it (Dublin's 1957 allotment ran AYI to YYI, serials G,
    I, S and V included). What stays refused: an I or Z serial before a Great Britain code (Britain
    never used them), and the codes no Irish authority held: I or Z paired with G, S or V (kept for
    Scotland in 1903; only IV, ZV, GZ, SZ, VZ and IG were taken up later), II, and ZZ (temporary
    imports, not a permanent mark)."""
    letters = "ABCDEFGHIJKLMNOPRSTUVWXYZ"  # Q is never used in a dateless mark
    groups = [a + b + c for a in letters for b in letters for c in letters if {"I", "Z"} & {a, b, c}]
    historic = NI_CODES | IRISH_CODES

    def as_typed(mark: str) -> bool:  # not just valid after the parser's I/1 mistype corrections
        return is_valid(mark) and parse(mark).corrections == ()

    refused = {group for group in groups if not as_typed(f"{group} 1")}
    assert refused == {group for group in groups if group[1:] not in historic}
    assert {group[1:] for group in refused if {"I", "Z"} & set(group[1:])} == {
        "GI", "II", "IS", "SI", "VI", "ZG", "ZS", "ZZ",
    }  # fmt: skip
    for group in set(groups) - refused:  # either order, up to the longest number
        assert parse(f"{group} 9999").format is parse(f"1 {group}").format
