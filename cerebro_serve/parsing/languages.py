"""Spoken languages named in a resume, and the language a text is written in.

Names come from CLDR as each of the parser's languages writes them ("angielski", "英语", "Kiingereza":
parsing/locales.py), with the few a resume uses that CLDR does not list. Levels are taken as written: a
CEFR level (A1 to C2) or a word for one in the common languages.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from cerebro_serve.parsing.locales import LANGUAGES, fold, language_names, trie_pattern

# ISO 639-1 codes in the order of a record's `languages` feature bits (scoring/features.py): append only,
# so that a stored record's bits keep their meaning.
SPOKEN = (
    *("en", "fr", "es", "de", "it", "pt", "nl", "ro", "ru", "ar", "zh", "ja", "ko", "hi", "pl", "tr", "uk"),
    *("he", "el", "sv", "hu", "cs", "fa", "vi", "bg", "hr", "da", "et", "fi", "ga", "lv", "lt", "mt", "sk"),
    *("sl", "id", "th", "ms", "bn", "sw", "ur", "tl", "sr"),
)
assert set(SPOKEN) == set(LANGUAGES), "every language the parser reads is one a record can speak"
# Names resumes use that CLDR does not list (ASCII spellings, older names), folded.
OTHER_NAMES = {
    "zh": ("mandarin", "mandarin chinese", "putonghua", "普通话", "中文", "華語", "汉语"),
    "fa": ("farsi",),
    "es": ("castellano", "castilian"),
    "nl": ("flemish", "hollandais", "vlaams"),
    "ro": ("romana", "romaneste"),
    "de": ("deutsch", "german"),
    "tl": ("filipino", "pilipino", "tagalog"),
    "ms": ("malay", "bahasa malaysia", "bahasa melayu"),
    "id": ("bahasa indonesia", "indonesian"),
    "sr": ("srpski", "српски"),
    "ar": ("arabic",),
}
LEVEL_WORDS = re.compile(
    r"\b(native|mother tongue|fluent|proficient|advanced|intermediate|basic|beginner|conversational|"
    r"bilingual|[abc][12]|langue maternelle|courant|bilingue|nativo|fluido|avanzado|intermedio|basico|"
    r"muttersprache|fliessend|verhandlungssicher|grundkenntnisse|madrelingua|moedertaal|vloeiend|nativ|"
    r"ojczysty|biegly|podstawowy|sredniozaawansowany|zaawansowany|rodzimy|родной|свободно|свободный|"
    r"базовый|средний|продвинутый|ana dil|ileri|orta|baslangic|anadili|rodny|plynne|zakladni|pokrocily|"
    r"modersmal|flytande|flydende|aidinkieli|sujuva|hyva|anyanyelv|folyekony|kozepfok|alapfok|felsofok)\b",
    re.IGNORECASE,
)
# Scripts that name one language, whatever the classifier makes of a few characters of them.
_SCRIPTS = (
    *(("HANGUL", "ko"), ("HIRAGANA", "ja"), ("KATAKANA", "ja"), ("THAI", "th")),
    *(("HEBREW", "he"), ("BENGALI", "bn"), ("DEVANAGARI", "hi"), ("GREEK", "el")),
)
# Kanji in Japan's simplified forms, which neither simplified nor traditional Chinese writes ("歴": 历, 歷),
# the common ones of resumes and job ads: text in Han characters alone is Japanese when it has one.
JAPANESE_KANJI = frozenset("歴経験栄働込売続読転広実関発県沢様総覧駅変処拡徴応営図")
MIN_CONFIDENCE = 0.2  # below it, a short text's language is not told (bench/bench_languages.py)


@cache
def _names() -> dict[str, str]:
    names = dict(language_names())
    for code, written in OTHER_NAMES.items():
        for name in written:
            names.setdefault(fold(name), code)
    return names


@cache
def _name_pattern() -> re.Pattern[str]:
    """Any language name: whole words in scripts that space words, anywhere in those that do not."""
    return re.compile(rf"(?:(?<!\w)(?:{trie_pattern(_names())})(?!\w)|{trie_pattern(_unspaced(_names()))})")


def _unspaced(names: dict[str, str]) -> list[str]:
    """The names written in Chinese, Japanese or Thai, which run into the next word ("英语流利")."""
    return [name for name in names if any(_script(char) in ("CJK", "HIRAGANA", "KATAKANA", "THAI") for char in name)]


def language_code(name: str) -> str | None:
    """The ISO 639-1 code of a language given by its code ("pl", "pt-BR") or named in any of the parser's
    languages, alone or first ("Polish", "polski", "Polish (fluent)"); None when unknown."""
    folded = " ".join(fold(name).split())
    code = re.split(r"[-_]", folded, maxsplit=1)[0]
    if code in SPOKEN:
        return code
    names = _names()
    return names.get(folded) or names.get(folded.split(" ")[0] if folded else "")


def find_spoken_languages(text: str) -> list[tuple[str, str | None]]:
    """(ISO code, level as written or None) for each language named in the text, in order."""
    found: dict[str, str | None] = {}
    names = _names()
    for line in text.split("\n"):
        folded = fold(line)
        hits = [(m.start(), m.end(), names[re.sub(r"\s+", " ", m.group(0))]) for m in _name_pattern().finditer(folded)]
        for position, (_, end, code) in enumerate(hits):
            # A level belongs to the language named just before it on the line.
            stop = hits[position + 1][0] if position + 1 < len(hits) else len(folded)
            level = LEVEL_WORDS.search(folded, end, stop)
            if code not in found:
                found[code] = _written(line, folded, level) if level else None
    return list(found.items())


def _written(line: str, folded: str, level: re.Match[str]) -> str:
    """A level as the line writes it (with its accents), when folding kept the line's length."""
    return line[level.start() : level.end()] if len(line) == len(folded) else level.group(0)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language among the parser's, or None for too little text (or text
    that is only names of tools): a script used by one language settles it, else py3langid, over the
    parser's languages only, when it is confident."""
    sample = text[:5000]
    letters = [char for char in sample if char.isalpha()]
    if len(letters) < 2:
        return None
    scripts = [_script(char) for char in letters]
    for script, code in _SCRIPTS:
        if scripts.count(script) * 2 >= len(letters) or (script in ("HIRAGANA", "KATAKANA") and script in scripts):
            return code
    if scripts.count("CJK") * 2 >= len(letters):  # Han characters alone: Chinese, unless Japan's own forms
        return "ja" if JAPANESE_KANJI.intersection(sample) else "zh"
    if len(re.findall(r"\w+", sample)) < 2 and scripts.count("LATIN") == len(letters):
        return None
    code, confidence = _identifier().classify(sample)
    return code if confidence >= MIN_CONFIDENCE else None


def _script(char: str) -> str:
    """The first word of a character's Unicode name: its script, near enough ("CJK", "HANGUL", "LATIN")."""
    return unicodedata.name(char, "UNKNOWN").split(" ")[0]


@cache
def _identifier():
    import os

    import py3langid
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(
        os.path.join(os.path.dirname(py3langid.__file__), MODEL_FILE), norm_probs=True
    )
    identifier.set_languages(list(LANGUAGES))
    return identifier
