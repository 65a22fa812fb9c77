"""Split a resume or a job ad into sections by their headings, in the parser's 43 languages.

A heading is a short line that, once folded (parsing/locales.py: lowercase, no accents) and stripped of
punctuation and a trailing colon, is one of the known names: below for en, fr, es, de, it, pt, nl and ro,
in `data/headings.tsv` for the others. No data set lists resume headings by language, so these are typed,
as data, one line per language and section.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from cerebro_serve.parsing.locales import fold

HEADINGS: dict[str, tuple[str, ...]] = {
    "summary": (
        "summary",
        "profile",
        "professional summary",
        "about me",
        "objective",
        "career objective",
        "profile summary",
        "personal statement",
        "executive summary",
        "professional profile",
        "profil",
        "resume",
        "a propos",
        "a propos de moi",
        "objectif",
        "profil professionnel",
        "perfil",
        "resumen",
        "sobre mi",
        "objetivo",
        "perfil profesional",
        "extracto",
        "profil",
        "zusammenfassung",
        "uber mich",
        "kurzprofil",
        "berufsziel",
        "profilo",
        "sommario",
        "su di me",
        "obiettivo",
        "profilo professionale",
        "resumo",
        "sobre mim",
        "perfil profissional",
        "samenvatting",
        "over mij",
        "profiel",
        "doelstelling",
        "rezumat",
        "despre mine",
        "obiectiv",
        "profil profesional",
    ),
    "experience": (
        "experience",
        "work experience",
        "professional experience",
        "employment",
        "employment history",
        "work history",
        "career history",
        "experience history",
        "relevant experience",
        "professional background",
        "professional history",
        "working experience",
        "work expirience",
        "employment experience",
        "relevant work experience",
        "experience and projects",
        "experience and participated projects",
        "professional experience and projects",
        "work experience and projects",
        "career summary",
        "experiences",
        "experience professionnelle",
        "experiences professionnelles",
        "parcours professionnel",
        "experiencia",
        "experiencia laboral",
        "experiencia profesional",
        "trayectoria profesional",
        "berufserfahrung",
        "erfahrung",
        "berufliche erfahrung",
        "beruflicher werdegang",
        "werdegang",
        "esperienza",
        "esperienze",
        "esperienza lavorativa",
        "esperienze lavorative",
        "esperienza professionale",
        "experiencia profissional",
        "experiencia",
        "historico profissional",
        "werkervaring",
        "ervaring",
        "professionele ervaring",
        "loopbaan",
        "experienta",
        "experienta profesionala",
        "experienta de munca",
        "istoric profesional",
    ),
    "education": (
        "education",
        "academic background",
        "education and training",
        "qualifications",
        "academic qualifications",
        "educational background",
        "studies",
        "formation",
        "formations",
        "etudes",
        "parcours academique",
        "diplomes",
        "educacion",
        "formacion",
        "formacion academica",
        "estudios",
        "ausbildung",
        "bildung",
        "studium",
        "schulbildung",
        "akademischer werdegang",
        "istruzione",
        "formazione",
        "titoli di studio",
        "istruzione e formazione",
        "educacao",
        "formacao",
        "formacao academica",
        "opleiding",
        "opleidingen",
        "onderwijs",
        "educatie",
        "studii",
        "formare",
        "educatie si formare",
    ),
    "skills": (
        "skills",
        "technical skills",
        "key skills",
        "core competencies",
        "competencies",
        "professional skills",
        "skills and abilities",
        "areas of expertise",
        "expertise",
        "technologies",
        "tools",
        "core skills",
        "competences",
        "competences techniques",
        "compétences",
        "savoir faire",
        "outils",
        "habilidades",
        "competencias",
        "conocimientos",
        "aptitudes",
        "habilidades tecnicas",
        "kenntnisse",
        "fahigkeiten",
        "kompetenzen",
        "fachkenntnisse",
        "it kenntnisse",
        "competenze",
        "abilita",
        "competenze tecniche",
        "capacita e competenze",
        "competencias",
        "habilidades",
        "conhecimentos",
        "vaardigheden",
        "competenties",
        "kennis",
        "competente",
        "aptitudini",
        "abilitati",
        "competente tehnice",
    ),
    "languages": (
        "languages",
        "language skills",
        "langues",
        "competences linguistiques",
        "idiomas",
        "lenguas",
        "sprachen",
        "sprachkenntnisse",
        "lingue",
        "conoscenze linguistiche",
        "linguas",
        "talen",
        "talenkennis",
        "limbi straine",
        "limbi",
        "competente lingvistice",
    ),
    "certifications": (
        "certifications",
        "certificates",
        "licenses",
        "licenses and certifications",
        "certificats",
        "certificaciones",
        "certificados",
        "zertifikate",
        "zertifizierungen",
        "certificazioni",
        "certificacoes",
        "certificaten",
        "certificari",
    ),
    "interests": (
        "interests",
        "hobbies",
        "hobbies and interests",
        "centres d interet",
        "loisirs",
        "intereses",
        "aficiones",
        "interessen",
        "hobbys",
        "interessi",
        "interesses",
        "hobby s",
        "interese",
        "hobbyuri",
    ),
    "projects": ("projects", "projets", "proyectos", "projekte", "progetti", "projetos", "projecten", "proiecte"),
    "responsibilities": (
        "responsibilities",
        "your responsibilities",
        "what you will do",
        "the role",
        "duties",
        "your mission",
        "missions",
        "vos missions",
        "responsabilites",
        "responsabilidades",
        "funciones",
        "aufgaben",
        "ihre aufgaben",
        "responsabilita",
        "mansioni",
        "taken",
        "verantwoordelijkheden",
        "responsabilitati",
    ),
    "requirements": (
        "requirements",
        "qualifications required",
        "what we are looking for",
        "who you are",
        "your profile",
        "must have",
        "required skills",
        "minimum qualifications",
        "profil recherche",
        "votre profil",
        "requisitos",
        "perfil buscado",
        "anforderungen",
        "ihr profil",
        "requisiti",
        "requisitos",
        "eisen",
        "functie eisen",
        "cerinte",
        "profilul candidatului",
    ),
    "nice_to_have": (
        "nice to have",
        "bonus",
        "bonus points",
        "preferred qualifications",
        "preferred",
        "pluses",
        "a plus",
        "atouts",
        "serait un plus",
        "deseable",
        "valorable",
        "wunschenswert",
        "von vorteil",
        "gradito",
        "costituisce titolo preferenziale",
        "diferencial",
        "pluspunten",
        "constituie un avantaj",
    ),
    "benefits": (
        "benefits",
        "what we offer",
        "perks",
        "avantages",
        "beneficios",
        "wir bieten",
        "benefit",
        "benefici",
        "wat wij bieden",
        "beneficii",
    ),
}

HEADINGS_FILE = Path(__file__).with_name("data") / "headings.tsv"
MAX_HEADING_WORDS = 6


def normalise_heading(line: str) -> str:
    """Folded, punctuation as spaces (marks that are part of a letter, as in Hindi or Thai, kept)."""
    text = fold(line.strip())
    text = "".join(c if c.isalnum() or c.isspace() or unicodedata.category(c)[0] == "M" else " " for c in text)
    return " ".join(text.split())


def _localised_headings() -> dict[tuple[str, str], tuple[str, ...]]:
    """(section, language) -> headings, from the data file."""
    headings = {}
    for line in HEADINGS_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            language, section, written = line.split("\t")
            headings[(section, language)] = tuple(dict.fromkeys(normalise_heading(h) for h in written.split("|")))
    return headings


LOCALISED_HEADINGS = _localised_headings()
_LOOKUP = {heading: section for (section, _), headings in LOCALISED_HEADINGS.items() for heading in headings}
_LOOKUP.update({heading: section for section, headings in HEADINGS.items() for heading in headings})


def heading_of(line: str) -> str | None:
    """The section a line opens, or None if it is not a heading.

    Two-column layouts put two headings on one line ("EXPERIENCE SKILLS"): the first one is taken.
    """
    if not line.strip() or len(line) > 60:
        return None
    key = normalise_heading(line)
    words = key.split()
    if not words or len(words) > MAX_HEADING_WORDS:
        return None
    if key in _LOOKUP:
        return _LOOKUP[key]
    for cut in range(1, len(words)):
        first, second = " ".join(words[:cut]), " ".join(words[cut:])
        if first in _LOOKUP and second in _LOOKUP:
            return _LOOKUP[first]
    return None


@dataclass(frozen=True, slots=True)
class Section:
    name: str  # "header" for what comes before the first heading
    title: str
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


def split_sections(text: str) -> list[Section]:
    sections = [Section("header", "", [])]
    for line in text.split("\n"):
        name = heading_of(line)
        if name is not None:
            sections.append(Section(name, line.strip(), []))
        else:
            sections[-1].lines.append(line)
    return [section for section in sections if section.name != "header" or section.text]
