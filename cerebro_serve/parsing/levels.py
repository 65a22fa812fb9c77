"""Levels as resumes and HrFlow objects write them, each on one scale, so a filter can ask for a minimum.

Languages on CEFR's: A1 = 1 ... C2 = 6, a native speaker 6; the words resumes use for a level in the
parser's main languages. Skills on four steps: beginner 1, intermediate 2, advanced 3, expert 4. Either
may be a number out of a scale ("4/5", "8/10", "80%"). Anything else has no level (None): a filter on a
minimum level never lets it pass, rather than guess.
"""

from __future__ import annotations

import math
import re
from typing import Any

from cerebro_serve.parsing.locales import fold

CEFR = {"a1": 1, "a2": 2, "b1": 3, "b2": 4, "c1": 5, "c2": 6}
NATIVE = 6
# Folded words -> CEFR level, in en, fr, es, de, it, pt, nl, ro, pl, ru, tr and a few more.
LANGUAGE_WORDS = {
    **dict.fromkeys(("beginner", "debutant", "principiante", "anfanger", "iniciante", "baslangic"), 1),
    **dict.fromkeys(("elementary", "basic", "notions", "basico", "grundkenntnisse", "base", "podstawowy"), 2),
    **dict.fromkeys(("basisch", "elementar", "базовый", "temel", "начальный", "elementare", "scolaire"), 2),
    **dict.fromkeys(("intermediate", "conversational", "intermediaire", "intermedio", "mittel", "orta"), 3),
    **dict.fromkeys(("intermediario", "gemiddeld", "mediu", "sredniozaawansowany", "средний", "medio"), 3),
    **dict.fromkeys(("upper intermediate", "good", "bon", "bueno", "gut", "buono", "bom", "goed", "bine"), 4),
    **dict.fromkeys(("advanced", "fluent", "proficient", "courant", "avance", "avanzado", "fliessend"), 5),
    **dict.fromkeys(("verhandlungssicher", "fluente", "avancado", "vloeiend", "avansat", "biegly"), 5),
    **dict.fromkeys(("zaawansowany", "свободно", "свободный", "продвинутый", "ileri", "akici", "fluido"), 5),
    **dict.fromkeys(("native", "mother tongue", "bilingual", "langue maternelle", "bilingue", "nativo"), NATIVE),
    **dict.fromkeys(("lengua materna", "muttersprache", "madrelingua", "moedertaal", "nativ", "ojczysty"), NATIVE),
    **dict.fromkeys(("родной", "ana dil", "anadili", "limba materna", "lingua materna", "moederstaal"), NATIVE),
}
SKILL_WORDS = {
    **dict.fromkeys(("beginner", "novice", "basic", "debutant", "principiante", "anfanger", "notions"), 1),
    **dict.fromkeys(("elementary", "junior", "basico", "grundkenntnisse", "base", "podstawowy"), 1),
    **dict.fromkeys(("intermediate", "intermediaire", "intermedio", "fortgeschritten", "medio", "mediu"), 2),
    **dict.fromkeys(("good", "competent", "confirmed", "confirme", "bon", "bueno", "gut", "buono"), 2),
    **dict.fromkeys(("advanced", "proficient", "senior", "avance", "avanzado", "sehr gut", "avansat"), 3),
    **dict.fromkeys(("strong", "very good", "tres bon", "zaawansowany", "ottimo", "avancado"), 3),
    **dict.fromkeys(("expert", "master", "mastery", "experto", "esperto", "especialista", "experte"), 4),
}
SKILL_STEPS = 4
# As `fold` writes them (Cyrillic "й" loses its breve, as every text read against them does).
_LANGUAGE_LEVELS = {fold(word): level for word, level in (CEFR | LANGUAGE_WORDS).items()}
_SKILL_LEVELS = {fold(word): level for word, level in SKILL_WORDS.items()}
_OUT_OF = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(?:/\s*(\d+)|(%))$")


def language_level(value: Any) -> int | None:
    """The CEFR level (1-6) a language's value says, or None."""
    return _level(value, _LANGUAGE_LEVELS, len(CEFR))


def skill_level(value: Any) -> int | None:
    """The step (1-4) a skill's value says, or None."""
    return _level(value, _SKILL_LEVELS, SKILL_STEPS)


def _level(value: Any, words: dict[str, int], steps: int) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value) if value == int(value) and 1 <= value <= steps else None
    text = " ".join(re.sub(r"[^\w\s/%.,]", " ", fold(str(value))).split())
    if not text:
        return None
    if text in words:
        return words[text]
    out_of = _OUT_OF.match(text)
    if out_of:
        number = float(out_of.group(1).replace(",", "."))
        scale = 100.0 if out_of.group(3) else float(out_of.group(2))
        if 0 < number <= scale:
            return max(1, math.ceil(number / scale * steps))
        return None
    if text.isdigit():
        return int(text) if 1 <= int(text) <= steps else None
    found = [words[word] for word in _phrases(text) if word in words]
    return max(found) if found else None


def _phrases(text: str) -> list[str]:
    """The text's words and pairs of words ("C1 - fluent", "upper intermediate")."""
    words = text.replace("/", " ").split()
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]
