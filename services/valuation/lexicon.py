"""Whether a mark reads as a first name, a surname or a common English word.

Buyers pay for marks that spell something (``AA70 RON``, ``S1 MON``), but the auctioneer's
categories (names, fun, cars) cover only the lots it filed and only the exact readings seen in
training. A word list generalises to marks never sold: ``RON`` is a name whether or not a
``... RON`` mark was filed under names.

The lists come from the Faker package's ``en_GB`` and ``en_US`` providers (first names, last names,
the lorem word list; MIT licence), read at training time only (Faker is a development dependency)
and stored in the artifact, so the runtime needs no Faker. Validation (blocks 34-38 and 29-33)
measured these columns on top of the cross-format encodings: about 0.2-0.5 points of MAPE and 0.2-0.5
of median APE.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.valuation.features import Mark

LEXICON_FEATURES: tuple[str, ...] = (
    "reads_name",
    "reads_word",
    "reads_surname",
    "serial_name",
    "serial_word",
    "serial_surname",
    "longest_word",
    "longest_name",
    "word_share",
)
"""Whole mark (its letters or its reading) is a name / word / surname; its serial letters are one;
the longest name, surname or word (3+ letters) inside the reading, the longest name alone, and the
share of the reading the longest word covers."""
MIN_WORD = 3
"""Shorter fragments (``AB``, ``OK``) are inside nearly every mark and say nothing."""


def _frozen() -> frozenset[str]:
    return frozenset()


NAME, WORD, SURNAME = 1, 2, 4
"""Bits of :attr:`Lexicon.kinds`: a string can be several (``MAY`` is a name and a word)."""


@dataclass(frozen=True, slots=True)
class Lexicon:
    names: frozenset[str] = field(default_factory=_frozen)
    surnames: frozenset[str] = field(default_factory=_frozen)
    words: frozenset[str] = field(default_factory=_frozen)
    kinds: dict[str, int] = field(init=False, repr=False, compare=False)
    """Every listed string -> its kind bits: one lookup per piece instead of three."""
    starts: frozenset[str] = field(init=False, repr=False, compare=False)
    """The first ``MIN_WORD`` letters of every listed string: a piece whose start is not among them
    cannot be listed, which skips most of the pieces of most marks."""

    def __post_init__(self) -> None:
        kinds: dict[str, int] = {}
        for bit, items in ((NAME, self.names), (WORD, self.words), (SURNAME, self.surnames)):
            for w in items:
                kinds[w] = kinds.get(w, 0) | bit
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "starts", frozenset(w[:MIN_WORD] for w in kinds if len(w) >= MIN_WORD))

    @classmethod
    def from_faker(cls) -> Lexicon:
        """The lists from Faker (training time only: the import is here so the runtime never needs it)."""
        from faker.providers.lorem.en_US import Provider as Lorem  # noqa: PLC0415  (training only)
        from faker.providers.person.en_GB import Provider as PersonGB  # noqa: PLC0415  (training only)
        from faker.providers.person.en_US import Provider as PersonUS  # noqa: PLC0415  (training only)

        def upper(items: list[str]) -> frozenset[str]:
            return frozenset(w.upper() for w in items if w.isalpha() and len(w) >= 2)

        return cls(
            names=upper([*PersonGB.first_names, *PersonUS.first_names]),
            surnames=upper([*PersonGB.last_names, *PersonUS.last_names]),
            words=upper(list(Lorem.word_list)),
        )

    def row(self, mark: Mark) -> list[float]:
        """The ``LEXICON_FEATURES`` of ``mark`` (a few microseconds: it runs for every valued mark)."""
        get, starts = self.kinds.get, self.starts
        text = mark.reads_as
        n = len(text)
        longest = longest_name = 0
        for a in range(n - MIN_WORD + 1):
            if text[a : a + MIN_WORD] not in starts:
                continue
            for b in range(n, a + MIN_WORD - 1, -1):  # longest piece from this start first
                kind = get(text[a:b])
                if kind:
                    longest = max(longest, b - a)
                    if kind & NAME:  # no shorter piece from here can be a longer name
                        longest_name = max(longest_name, b - a)
                        break
        whole = get(mark.registration.letters, 0) | get(text, 0)
        serial = get(mark.serial, 0)
        return [
            whole & NAME,
            whole & WORD,
            whole & SURNAME,
            serial & NAME,
            serial & WORD,
            serial & SURNAME,
            longest,
            longest_name,
            longest / n,
        ]

    def to_json(self) -> dict[str, list[str]]:
        return {"names": sorted(self.names), "surnames": sorted(self.surnames), "words": sorted(self.words)}

    @classmethod
    def from_json(cls, data: dict[str, list[str]]) -> Lexicon:
        return cls(frozenset(data["names"]), frozenset(data["surnames"]), frozenset(data["words"]))
