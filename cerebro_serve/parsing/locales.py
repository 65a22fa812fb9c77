"""The languages the parser reads, and what it reads of each from CLDR (the Unicode Common Locale Data
Repository, through Babel) rather than from lists typed here: month names, the words for "now" and
"today" that close an ongoing period, and the names of languages as each language writes them.

43 languages: the 24 official languages of the EU, and Arabic, Chinese, Japanese, Korean, Hindi, Russian,
Turkish, Ukrainian, Vietnamese, Indonesian, Thai, Hebrew, Persian, Malay, Bengali, Swahili, Urdu, Tagalog
and Serbian. Their order settles a word two languages read differently ("listopad": November in Polish
and Czech, October in Croatian) when the text's language is not known: the first one wins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from babel import Locale

LANGUAGES = (
    # The eight the parser read first, then the other official languages of the EU, then the rest.
    *("en", "fr", "es", "de", "it", "pt", "nl", "ro"),
    *("pl", "cs", "sk", "sl", "hr", "bg", "el", "hu", "sv", "da", "fi", "et", "lv", "lt", "ga", "mt"),
    *("ru", "uk", "sr", "tr", "ar", "fa", "ur", "he", "hi", "bn", "zh", "ja", "ko", "vi", "th", "id", "ms"),
    *("tl", "sw"),
)
# The CLDR locales of a language written in more than one script or spelling (and Tagalog's CLDR code).
_LOCALES = {"sr": ("sr", "sr_Latn"), "zh": ("zh", "zh_Hant"), "pt": ("pt", "pt_PT"), "tl": ("fil",)}

# Letters that no Unicode decomposition takes to ASCII, spelled the way a keyboard without them does.
_FLAT = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ħ": "h", "ı": "i", "ß": "ss", "ς": "σ"})
# Accents of Latin, Greek and Cyrillic letters, Hebrew points and Arabic vowel marks: optional in writing,
# so dropped. Other marks (an Indic vowel sign, a Japanese voicing mark) change the letter: kept.
_OPTIONAL_MARKS = re.compile("[\u0300-\u036f\u0591-\u05c7\u064b-\u065f\u0670]")
# Every script's decimal digits as ASCII ("٢٠١٩", "२०१९" -> "2019"), one character for one.
_DIGITS = {
    code: str(unicodedata.digit(chr(code)))
    for start in (0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0xFF10)
    for code in range(start, start + 10)
}


def fold(text: str) -> str:
    """Lowercase, without optional accents and marks, digits in ASCII: "Français" -> "francais",
    "Wykształcenie" -> "wyksztalcenie", "٢٠١٩" -> "2019". Hangul, kana and Indic letters stay whole."""
    if text.isascii():  # nothing to decompose: a resume's ~6,000 characters fold 20x faster
        return text.lower()
    text = unicodedata.normalize("NFKD", text.lower().translate(_DIGITS))
    return unicodedata.normalize("NFC", _OPTIONAL_MARKS.sub("", text)).translate(_FLAT)


def locales(language: str) -> tuple[str, ...]:
    return _LOCALES.get(language, (language,))


@cache
def month_names(language: str) -> dict[str, int]:
    """Folded month names (wide and abbreviated, as a date writes them and standing alone: "stycznia" and
    "styczeń") -> month number, for one language."""
    names: dict[str, int] = {}
    for locale in map(Locale.parse, locales(language)):
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in locale.months[context][width].items():
                    key = fold(name).strip(". ")
                    if key and not key.isdigit():
                        names.setdefault(key, number)
    return names


@cache
def all_month_names() -> dict[str, int]:
    """Every language's month names; where two languages read a word differently, the first one's."""
    names: dict[str, int] = {}
    for language in LANGUAGES:
        for name, number in month_names(language).items():
            names.setdefault(name, number)
    return names


@cache
def now_words(language: str) -> frozenset[str]:
    """The language's folded words for "now" and "today" ("acum", "azi"; "现在", "今天")."""
    words = set()
    for locale in map(Locale.parse, locales(language)):
        fields = locale._data["date_fields"]  # no public accessor for relative-date fields
        for field in ("second", "day"):
            word = fields[field]["relative"].get(0)
            if word:
                words.add(fold(word))
    return frozenset(words)


@cache
def language_names() -> dict[str, str]:
    """Folded names of the parser's languages, as each of them writes them ("engleza", "英语",
    "angielski") -> ISO 639-1 code; where two languages' names collide, the first language's reading."""
    names: dict[str, str] = {}
    codes = {code: locales(code)[0].split("_")[0] for code in LANGUAGES}  # tl is "fil" in CLDR
    for language in LANGUAGES:
        for locale in map(Locale.parse, locales(language)):
            for code, cldr_code in codes.items():
                name = locale.languages.get(cldr_code)
                if name:
                    names.setdefault(fold(name), code)
    return names


def trie_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of the words, as a trie: alternatives branch at the character where
    they part, so a match costs the length of the word, not the number of words (thousands, here). The
    longest word wins where one is a prefix of another."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _pattern(trie)


def _pattern(node: dict) -> str:
    ends = "" in node
    branches = [re.escape(char).replace(r"\ ", r"\s+") + _pattern(child) for char, child in node.items() if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        return f"(?:{body})?"
    return body
