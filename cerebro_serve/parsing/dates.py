"""Dates and date ranges as resumes write them, in eight languages, normalised to ISO-8601.

"janv. 2019 – présent", "Ianuarie 2021 - Martie 2022", "2018 - heute", "03/2017 to 06/2019", "2015-2018".
A date with only a year starts on January 1st and ends on December 31st; an open end ("present") is None.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

MONTHS: dict[int, tuple[str, ...]] = {
    1: (
        "january",
        "jan",
        "janvier",
        "janv",
        "enero",
        "ene",
        "januar",
        "jänner",
        "jaen",
        "gennaio",
        "gen",
        "janeiro",
        "januari",
        "ianuarie",
        "ian",
    ),
    2: (
        "february",
        "feb",
        "fevrier",
        "fev",
        "fevr",
        "febrero",
        "februar",
        "febbraio",
        "fevereiro",
        "fev",
        "februari",
        "februarie",
    ),
    3: ("march", "mar", "mars", "marzo", "marz", "maerz", "marco", "maart", "mrt", "martie"),
    4: ("april", "apr", "avril", "avr", "abril", "abr", "aprile", "aprilie"),
    5: ("may", "mai", "mayo", "maggio", "mag", "maio", "mei"),
    6: ("june", "jun", "juin", "junio", "juni", "giugno", "giu", "junho", "iunie", "iun"),
    7: ("july", "jul", "juillet", "juil", "julio", "juli", "luglio", "lug", "julho", "iulie", "iul"),
    8: ("august", "aug", "aout", "agosto", "ago", "augustus", "august"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "set", "settembre", "setembro", "septembrie"),
    10: ("october", "oct", "octobre", "octubre", "oktober", "okt", "ottobre", "ott", "outubro", "out", "octombrie"),
    11: ("november", "nov", "novembre", "noviembre", "novembro", "noiembrie", "noi"),
    12: ("december", "dec", "decembre", "diciembre", "dic", "dezember", "dez", "dicembre", "dezembro", "decembrie"),
}
PRESENT = (
    "present",
    "current",
    "currently",
    "now",
    "today",
    "ongoing",
    "to date",
    "date",
    "aujourd hui",
    "actuel",
    "actuellement",
    "en cours",
    "ce jour",
    "actualidad",
    "presente",
    "actual",
    "hoy",
    "la fecha",
    "heute",
    "derzeit",
    "aktuell",
    "jetzt",
    "laufend",
    "bis heute",
    "dato",
    "oggi",
    "attuale",
    "in corso",
    "atual",
    "momento",
    "o momento",
    "hoje",
    "heden",
    "nu",
    "huidig",
    "lopend",
    "prezent",
    "in prezent",
    "pana in prezent",
    "acum",
)

_MONTH_LOOKUP = {name: number for number, names in MONTHS.items() for name in names}
_MONTH_WORD = "|".join(sorted(map(re.escape, _MONTH_LOOKUP), key=len, reverse=True))
_PRESENT_WORD = "|".join(sorted((re.escape(p).replace(r"\ ", r"\s+") for p in PRESENT), key=len, reverse=True))
_YEAR = r"(?:19[5-9]\d|20[0-4]\d)"
_DATE = (
    rf"(?:(?:{_MONTH_WORD})\.?,?\s*(?:de\s+)?{_YEAR}"  # janv. 2019, März 2018, enero de 2020
    rf"|(?:0?[1-9]|1[0-2])[/.\-]{_YEAR}"  # 03/2017, 3.2017
    rf"|{_YEAR}[/.\-](?:0?[1-9]|1[0-2])(?![\d])"  # 2017-03
    rf"|{_YEAR})"
)
_SEPARATOR = (
    r"\s*(?:-|–|—|‒|to|until|till|à|au|a|al|hasta|bis|fino\s+a|al|até|tot|până\s+(?:în|la)|pana\s+(?:in|la)|/)\s*"
)
# Month-and-year dates side by side with no separator ("08/2021 07/2022", "Mar 2020 July 2020").
_MONTH_DATE = rf"(?:(?:{_MONTH_WORD})\.?,?\s*(?:de\s+)?{_YEAR}|(?:0?[1-9]|1[0-2])[/.\-]{_YEAR})"
RANGE = re.compile(
    rf"(?<![\w])(?:(?P<start2>{_MONTH_DATE})\s+(?P<end2>{_MONTH_DATE})"
    rf"|(?P<start>{_DATE})(?:{_SEPARATOR}(?P<end>{_DATE}|{_PRESENT_WORD}))?)(?![\w])",
    re.IGNORECASE,
)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c)).replace("'", " ").replace("’", " ")


@dataclass(frozen=True, slots=True)
class DateRange:
    start: date
    end: date | None  # None: still going on
    span: tuple[int, int]  # where it was written

    @property
    def is_open(self) -> bool:
        return self.end is None

    def years(self, today: date) -> float:
        end = self.end or today
        return max(0.0, (end - self.start).days / 365.25)


def _parse_date(text: str, is_end: bool) -> date | None:
    words = re.findall(r"[a-z]+|\d+", _fold(text))
    year = next((int(word) for word in words if len(word) == 4 and word.isdigit()), None)
    if year is None:
        return None
    month = None
    for word in words:
        if word in _MONTH_LOOKUP:
            month = _MONTH_LOOKUP[word]
            break
        if word.isdigit() and len(word) <= 2 and 1 <= int(word) <= 12:
            month = int(word)
            break
    if month is None:
        return date(year, 12, 31) if is_end else date(year, 1, 1)
    return date(year, month, 1)


def find_ranges(text: str) -> list[DateRange]:
    """Every date or date range in the text; a lone date is a range of that one period."""
    folded = _fold(text)
    if len(folded) != len(text):  # folding changed lengths: match on the original, still case-insensitive
        folded = text
    ranges = []
    for match in RANGE.finditer(folded):
        start_text = match.group("start") or match.group("start2")
        start = _parse_date(start_text, is_end=False)
        if start is None:
            continue
        end_text = match.group("end") or match.group("end2")
        if end_text is None:
            end = _parse_date(start_text, is_end=True)
        elif re.fullmatch(_PRESENT_WORD, end_text, re.IGNORECASE):
            end = None
        else:
            end = _parse_date(end_text, is_end=True)
        if end is not None and end < start:
            continue
        ranges.append(DateRange(start, end, match.span()))
    return ranges


def iso(value: date | None) -> str | None:
    return value.strftime("%Y-%m-%dT00:00:00") if value else None
