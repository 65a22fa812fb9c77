"""Contact details from a resume's text: name, email, phone, URLs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from cerebro_serve.parsing.sections import heading_of

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
# Eight to fifteen digits, optionally with a leading +, grouped by spaces, dots, dashes or parentheses.
PHONE = re.compile(r"(?<![\w/])\+?\(?\d[\d\s().-]{6,18}\d(?![\w/])")
URL = re.compile(
    r"(?:https?://|www\.)[^\s,;]+|(?:linkedin\.com|github\.com|gitlab\.com|twitter\.com|x\.com)/[^\s,;]+",
    re.IGNORECASE,
)
URL_TYPES = {
    "linkedin": "linkedin",
    "github": "github",
    "twitter": "twitter",
    "x.com": "twitter",
    "facebook": "facebook",
}
# What opens a resume in scripts without capitals and is not a name ("resume", "curriculum vitae").
RESUME_TITLES = frozenset(
    ("简历", "個人簡歷", "个人简历", "履歴書", "職務経歴書", "이력서", "السيرة الذاتية", "קורות חיים")
)


@dataclass(slots=True)
class Contacts:
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    urls: list[tuple[str, str]] = field(default_factory=list)  # (type, url)


def _phone(text: str) -> str | None:
    for match in PHONE.finditer(text):
        candidate = match.group(0).strip()
        digits = re.sub(r"\D", "", candidate)
        if 8 <= len(digits) <= 15 and not re.fullmatch(r"(19|20)\d\d\s*[-–]\s*(19|20)\d\d", candidate):
            return candidate
    return None


def _name(lines: list[str]) -> str | None:
    """The first of the opening lines that reads like a person's name: 2 to 4 words, capitalised in a script
    with capitals ("Ayşe Yılmaz", "Иван Петров"), or letters in one without ("أحمد علي"); 2 to 4 Han or
    Hangul characters in one word ("张伟", "김민수")."""
    for line in lines[:8]:
        candidate = line.strip()
        if not candidate or heading_of(candidate) or EMAIL.search(candidate) or any(ch.isdigit() for ch in candidate):
            continue
        if candidate in RESUME_TITLES:
            continue
        words = candidate.replace(",", " ").split()
        if 2 <= len(words) <= 4 and all(_name_word(word) for word in words):
            return " ".join(word.capitalize() if word.isupper() else word for word in words)
        if len(words) == 1 and 2 <= len(candidate) <= 4 and all(_east_asian_letter(char) for char in candidate):
            return candidate
    return None


def _name_word(word: str) -> bool:
    """Letters (with their marks, apostrophes and hyphens), capitalised where the script has capitals."""
    letters = word.removesuffix(".")
    if not letters or not all(c.isalpha() or c in "'’-" or unicodedata.category(c)[0] == "M" for c in letters):
        return False
    return not letters[0].islower()


def _east_asian_letter(char: str) -> bool:
    return unicodedata.name(char, "").startswith(("CJK UNIFIED", "HANGUL SYLLABLE"))


def find_contacts(text: str) -> Contacts:
    contacts = Contacts()
    email = EMAIL.search(text)
    contacts.email = email.group(0) if email else None
    contacts.phone = _phone(EMAIL.sub(" ", URL.sub(" ", text)))
    seen = set()
    for match in URL.finditer(text):
        url = match.group(0).rstrip(").")
        if url.lower() in seen:
            continue
        seen.add(url.lower())
        kind = next((value for key, value in URL_TYPES.items() if key in url.lower()), "from_resume")
        contacts.urls.append((kind, url))
    name = _name(text.split("\n"))
    if name:
        contacts.full_name = name
        parts = name.split()
        contacts.first_name, contacts.last_name = parts[0], " ".join(parts[1:])
    return contacts


LOCATION_LABEL = re.compile(
    r"\b(?:location|address|adresse|dirección|direccion|adresse|wohnort|indirizzo|"
    r"morada|adres|adresa|localisation|ubicación|ubicacion)\s*:\s*(?P<place>[^|•·\n]+)",
    re.IGNORECASE,
)
PLACE = re.compile(r"^[A-ZÀ-Þ][\w'’. -]{1,40},\s*[A-ZÀ-Þ][\w'’. -]{1,40}$")


def find_location(lines: list[str]) -> str | None:
    """A place in the opening lines: "Location: Lyon, France", or a part like "San Francisco, CA"."""
    for line in lines[:12]:
        labelled = LOCATION_LABEL.search(line)
        if labelled:
            return labelled.group("place").strip(" ,;")
    for line in lines[:12]:
        for part in re.split(r"\s*[|•·]\s*|\s{2,}|\s,\s", line):
            part = part.strip()
            if PLACE.match(part) and not any(ch.isdigit() for ch in part) and "@" not in part:
                return part
    return None
