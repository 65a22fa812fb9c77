"""Dates and date ranges as resumes write them, in the parser's 43 languages, normalised to ISO-8601.

"janv. 2019 – présent", "Ianuarie 2021 - Martie 2022", "2018 - heute", "03/2017 to 06/2019", "2015-2018",
"stycznia 2019 – obecnie", "2019年3月 - 至今", "2017년 3월 ~ 현재", "يناير 2018 - حتى الآن". Month names and the
words for "now" and "today" come from CLDR (parsing/locales.py); the lists below add the abbreviations and
the words for "present" that resumes use and CLDR does not list. A date with only a year starts on January
1st and ends on December 31st; an open end ("present") is None. Thai resumes count years in the Buddhist
era ("มิ.ย. 2563"), Iranian ones in the Solar Hijri calendar ("مهر ۱۳۹۸"): read in those languages.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from cerebro_serve.parsing.locales import LANGUAGES, all_month_names, fold, month_names, now_words, trie_pattern

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
    # ... and in the other languages, as resumes close an ongoing period (folded as `fold` folds them).
    *("obecnie", "do teraz", "soucasnost", "do soucasnosti", "sucasnost", "doteraz", "sedanjost", "sadasnjost"),
    *("do danas", "sega", "do momenta", "τρεχον", "μεχρι σημερα", "napjainkig", "jelenleg", "nutid", "idag"),
    *("pagaidam", "siuo metu", "dabar", "praegu", "tanaan", "nykyaan", "go dti seo", "sal-lum"),
    *("настоящее время", "по настоящее время", "наст время", "н в", "теперешнее время", "теперішній час"),
    *("дотепер", "по теперішній час", "досега", "до данас", "günümüz", "gunumuz", "halen", "devam ediyor"),
    *("حتى الان", "حاليا", "الحاضر", "تاكنون", "اکنون", "حال", "موجودہ", "حال تک", "עד היום", "הווה"),
    *("वर्तमान", "अब तक", "বর্তমান", "至今", "现在", "現在", "今", "在职", "현재", "재직중", "재직 중"),
    *("hien tai", "nay", "sekarang", "kini", "saat ini", "masa kini", "ปัจจุบัน", "sasa", "kasalukuyan"),
)


@dataclass(frozen=True, slots=True)
class Era:
    """A calendar whose years a language's resumes write: its years of 1950-2049 CE as a pattern, how far
    its year is from the CE year its first month falls in, and its own month names (none: Gregorian
    months)."""

    years: str
    offset: int
    months: tuple[str, ...] = ()

    def gregorian(self, year: int, month: int) -> tuple[int, int]:
        """The CE year and month where most of this era's month falls. A Solar Hijri year begins at the
        March equinox, so its first month is mostly April."""
        if not self.months:
            return year + self.offset, month
        shifted = month + 2
        return year + self.offset + shifted // 12, shifted % 12 + 1


ERAS = {
    "th": Era(r"(?:249[3-9]|25[0-8]\d|259[0-2])", -543),
    "fa": Era(
        r"(?:1329|13[3-9]\d|14[01]\d|142[0-8])",
        621,
        ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"),
    ),
}


@cache
def _month_lookup(language: str | None) -> dict[str, int]:
    """Folded month names -> month: the language's from CLDR (every language's, when not known), and the
    abbreviations above."""
    names = dict(month_names(language) if language in LANGUAGES else all_month_names())
    for number, written in MONTHS.items():
        for name in written:
            names.setdefault(fold(name), number)
    era = ERAS.get(language or "")
    names.update({fold(name): number for number, name in enumerate(era.months if era else (), start=1)})
    return names


def year_pattern(language: str | None) -> str:
    """A year as the language's resumes write it: CE, or in its era."""
    era = ERAS.get(language or "")
    return rf"(?:{_YEAR}|{era.years})" if era else _YEAR


_PRESENT = frozenset(fold(word) for word in PRESENT) | {word for lang in LANGUAGES for word in now_words(lang)}
_PRESENT_WORD = trie_pattern(_PRESENT)
_YEAR = r"(?:19[5-9]\d|20[0-4]\d)"
_MONTH_NUMBER = r"(?:0?[1-9]|1[0-2])"
# Chinese, Japanese and Korean write a year and month with their signs ("2019年3月", "2017년 3월").
_EAST_ASIAN = rf"{_YEAR}\s*[年년]\s*(?:{_MONTH_NUMBER}\s*[月월])?"
RANGE_SEPARATOR = (
    r"\s*(?:-|–|—|‒|~|to|until|till|à|au|a|al|hasta|bis|fino\s+a|até|tot|până\s+(?:în|la)|pana\s+(?:in|la)"
    r"|do|до|az|kuni|lidz|iki|hadi|hingga|sampai|den|toi|至|ถึง|/)\s*"
)


@cache
def _range_pattern(language: str | None) -> re.Pattern[str]:
    months, year = _month_names(language), year_pattern(language)
    dated = (
        rf"(?:{months})\.?,?\s*(?:de\s+)?{year}"  # janv. 2019, März 2018, enero de 2020, tháng 3 2019
        rf"|{_MONTH_NUMBER}[/.\-]{year}"  # 03/2017, 3.2017
        rf"|{year}[/.\-]{_MONTH_NUMBER}(?![\d])"  # 2017-03
        rf"|{_EAST_ASIAN}"
    )
    # Month-and-year dates side by side with no separator ("08/2021 07/2022", "Mar 2020 July 2020").
    month_date = rf"(?:(?:{months})\.?,?\s*(?:de\s+)?{year}|{_MONTH_NUMBER}[/.\-]{year})"
    any_date = rf"(?:{dated}|{year})"
    return re.compile(
        rf"(?<![\w])(?:(?P<start2>{month_date})\s+(?P<end2>{month_date})"
        rf"|(?P<start>{any_date})(?:{RANGE_SEPARATOR}(?P<end>{any_date}|{_PRESENT_WORD}))?)(?![\w])",
        re.IGNORECASE,
    )


@cache
def _month_names(language: str | None) -> str:
    """A pattern matching any of the language's month names (every language's when None)."""
    return trie_pattern(_month_lookup(language))


@cache
def _month_word(language: str | None) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w])(?:{_month_names(language)})(?![\w])")


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


def _parse_date(text: str, is_end: bool, language: str | None) -> date | None:
    """A date as written (folded): its year, and its month by name or number when it has one; a date in
    the language's era, in CE."""
    found = re.search(rf"(?<!\d){year_pattern(language)}(?!\d)", text)
    if found is None:
        return None
    year = int(found.group(0))
    era = ERAS[language] if language in ERAS and not re.fullmatch(_YEAR, found.group(0)) else None
    named = _month_word(language).search(text)
    rest = text[: found.start()] + " " + text[found.end() :]
    number = None if named else re.search(rf"(?<!\d){_MONTH_NUMBER}(?!\d)", rest)
    if named is not None:
        month = _month_lookup(language)[re.sub(r"\s+", " ", named.group(0))]
    elif number is not None:
        month = int(number.group(0))
    elif era is None:
        return date(year, 12, 31) if is_end else date(year, 1, 1)
    else:  # a year alone, in an era: from its first month to the end of its last
        year, month = era.gregorian(year, 12 if is_end else 1)
        return date(year, month, calendar.monthrange(year, month)[1] if is_end else 1)
    if era is not None:
        year, month = era.gregorian(year, month)
    return date(year, month, 1)


def find_ranges(text: str, language: str | None = None) -> list[DateRange]:
    """Every date or date range in the text; a lone date is a range of that one period. `language` (the
    text's, when known) settles month names two languages read differently."""
    folded, offsets = _folded(text)
    ranges = []
    for match in _range_pattern(language).finditer(folded):
        start_text = match.group("start") or match.group("start2")
        start = _parse_date(start_text, is_end=False, language=language)
        if start is None:
            continue
        end_text = match.group("end") or match.group("end2")
        if end_text is None:
            end = _parse_date(start_text, is_end=True, language=language)
        elif re.fullmatch(_PRESENT_WORD, end_text):
            end = None
        else:
            end = _parse_date(end_text, is_end=True, language=language)
        if end is not None and end < start:
            continue
        span = match.span() if offsets is None else (offsets[match.start()], offsets[match.end()])
        ranges.append(DateRange(start, end, span))
    return ranges


def _folded(text: str) -> tuple[str, list[int] | None]:
    """The text folded, apostrophes as spaces; where folding changed its length ("ß" -> "ss"), folded a
    character at a time with, for each folded character, the position of the one it came from."""
    folded = fold(text)
    offsets = None
    if len(folded) != len(text):
        pieces = [fold(char) for char in text]
        folded = "".join(pieces)
        offsets = [position for position, piece in enumerate(pieces) for _ in piece] + [len(text)]
    return folded.replace("'", " ").replace("’", " "), offsets


def iso(value: date | None) -> str | None:
    return value.strftime("%Y-%m-%dT00:00:00") if value else None
