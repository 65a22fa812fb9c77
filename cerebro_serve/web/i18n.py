"""The pages' languages: English (the message ids) and French, from gettext catalogues read with Babel.
Each page area keeps its own catalogue (`locales/<lang>/LC_MESSAGES/<area>.po`); they are merged at load.
A page's language comes from `?lang=`, then the browser's Accept-Language, then the page's default."""

from __future__ import annotations

import functools
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("en", "fr")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
LOCALES = Path(__file__).parent / "locales"


class Translator:
    def __init__(self, lang: str, messages: dict[str, str]) -> None:
        self.lang = lang
        self._messages = messages

    def gettext(self, message: str, **values: object) -> str:
        """The message in this language (English when it has no translation), with `{name}` filled in."""
        text = self._messages.get(message) or message
        return text.format(**values) if values else text


@functools.cache
def translator(lang: str) -> Translator:
    messages: dict[str, str] = {}
    for path in sorted((LOCALES / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=lang)
        messages |= {str(m.id): str(m.string) for m in catalogue if m.id and m.string and not m.fuzzy}
    return Translator(lang, messages)


def negotiate(asked: str | None, accept_language: str | None, default: str = "en") -> str:
    """The language to answer in: the one asked for, else the browser's first we speak, else `default`."""
    if asked in LANGUAGES:
        return asked
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return default if default in LANGUAGES else "en"
