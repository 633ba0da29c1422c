"""Features on known marks."""

from __future__ import annotations

import pytest

from services.core.registration import InvalidRegistration, PlateFormat
from services.valuation.features import BASE_FEATURES, base_row, describe, keys_of, pattern_flags


def test_invalid_mark_raises_with_reason() -> None:
    with pytest.raises(InvalidRegistration, match="no digit"):
        describe("HELLO")


def test_reads_as_digits_as_letters() -> None:
    assert describe("S1 MON").reads_as == "SIMON"
    assert describe("JAM 35").reads_as == "JAMES"


def test_groups_by_format() -> None:
    current = describe("AB12 CDE")
    assert (current.tag, current.serial, current.segment) == ("AB", "CDE", "current:L5D2")
    prefix = describe("A123 BCD")
    assert (prefix.tag, prefix.serial) == ("A", "BCD")
    suffix = describe("ABC 123D")
    assert (suffix.tag, suffix.serial) == ("D", "ABC")
    dateless = describe("1 A")
    assert dateless.segment == "dateless:L1D1r"
    assert keys_of(dateless)["number"] == "dateless:L1D1r:1"


def test_pattern_flags_on_known_marks() -> None:
    one = pattern_flags(describe("1 A"))
    assert one["number_one"]
    assert one["single_digit"]
    assert one["single_letter"]
    assert not one["repeated_digits"]
    assert pattern_flags(describe("AAA 111"))["repeated_letters"]
    assert pattern_flags(describe("AAA 111"))["repeated_digits"]
    assert pattern_flags(describe("ABC 123"))["letter_run"]
    assert pattern_flags(describe("ABC 123"))["digit_run"]
    assert pattern_flags(describe("500 A"))["round_number"]
    assert not pattern_flags(describe("AB12 CDE"))["number_one"]


def test_base_row_values() -> None:
    row = dict(zip(BASE_FEATURES, base_row(describe("1234 AB")), strict=True))
    assert row["format"] == 3
    assert row["length"] == 6
    assert (row["letters"], row["digits"], row["number"]) == (2, 4, 1234)
    assert row["letters_first"] == 0
    assert row["earliest_year"] == 0
    current = dict(zip(BASE_FEATURES, base_row(describe("AB51 CDE")), strict=True))
    assert current["earliest_year"] == 2001
    assert describe("ABZ 1234").registration.format is PlateFormat.NORTHERN_IRELAND


def test_keys_pool_letter_groups_across_formats_and_age_identifiers() -> None:
    prefix, other_age = keys_of(describe("A12 DAM")), keys_of(describe("B12 DAM"))
    assert prefix["body"] == other_age["body"] == "prefix:12DAM"
    suffix = keys_of(describe("DAM 12A"))
    assert suffix["body"] == "suffix:DAM12"
    assert prefix["any_serial"] == suffix["any_serial"] == "DAM"
    assert (prefix["any_letters"], suffix["any_letters"]) == ("ADAM", "DAMA")
    assert keys_of(describe("AA70 RON"))["body"] == "current:70RON"
    assert keys_of(describe("1 A"))["body"] == "dateless:1A"
