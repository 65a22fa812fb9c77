"""Repair what document extraction breaks: ligatures, hyphenation, letter-spaced words, stray spacing."""

from __future__ import annotations

import re
import unicodedata

LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"}
)
INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
# "devel-\nopment" -> "development": a hyphen at a line end followed by a lowercase continuation.
LINE_END_HYPHEN = re.compile(r"(\w)[-\u2010]\n[ \t]*([a-zà-ÿ])")
# "P y t h o n": four or more single letters, each followed by exactly one space.
LETTER_SPACED = re.compile(r"(?<![\w])(?:[^\W\d_] ){3,}[^\W\d_](?![\w])")
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
BLANK_LINES = re.compile(r"\n{3,}")


def _join_letters(match: re.Match[str]) -> str:
    return match.group(0).replace(" ", "")


def _unspace_line(line: str) -> str:
    """In a letter-spaced line, words are split by two or more spaces and letters by one."""
    if not LETTER_SPACED.search(line):
        return line
    words = re.split(r" {2,}", line)
    return " ".join(LETTER_SPACED.sub(_join_letters, word) for word in words)


def clean_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(LIGATURES).translate(INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = LINE_END_HYPHEN.sub(r"\1\2", text)
    lines = [SPACES.sub(" ", _unspace_line(line.replace("\t", " "))).strip() for line in text.split("\n")]
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
