"""Sentences of an explanation in English, French, Spanish and German, from templates over its facts.

A template only places values the explanation already holds (skill names, years, degree levels, language
codes, distances, feature values); Babel formats numbers, lists and language names for the locale. A
criterion with no data on one side says so rather than guessing.
"""

from __future__ import annotations

from collections.abc import Sequence

from babel import Locale
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent

LANGUAGES = ("en", "fr", "es", "de")
MAX_LISTED = 5  # names spelled out in one sentence; the lists beside it hold them all

_EN = {
    "category.skills": "Skills",
    "category.job_titles": "Job titles",
    "category.experience": "Experience",
    "category.education": "Education",
    "category.languages": "Languages",
    "category.location": "Location",
    "category.text": "Overall text similarity",
    "skills.found": "Has {found} of the job's {total} skills ({share} of their weight): {names}.",
    "skills.none_found": "Shows none of the job's {total} skills.",
    "skills.missing": "Missing: {names}.",
    "skills.no_data": "The job names no skills to compare.",
    "titles": "Title “{actual}” against “{expected}” (similarity {value}).",
    "titles.no_data": "No job title on one side: the full texts are compared instead ({value}).",
    "experience": "{actual} years of experience for {expected} asked.",
    "experience.no_requirement": "The job states no years of experience; the profile shows {actual}.",
    "experience.no_data": "The profile shows no dated experience to compare.",
    "education": "Degree level: {actual}, for {expected} asked.",
    "education.no_data": "No degree level on one side to compare.",
    "languages": "Speaks {actual}; the job asks for {expected}.",
    "languages.no_data": "No languages on one side to compare.",
    "location": "{distance} km from the job.",
    "location.no_data": "No location on one side to compare.",
    "text": "Text similarity {cosine}; the job's words found in the profile: {keywords}.",
    "summary": "Score {score}.",
    "summary.strengths": "Raised most by: {names}.",
    "summary.weaknesses": "Held back by: {names}.",
    "suggestion": "Adding {skill} would move the score from {before} to {after}.",
    "level.1": "secondary school",
    "level.2": "post-secondary diploma",
    "level.3": "bachelor's degree",
    "level.4": "master's degree",
    "level.5": "doctorate",
}
_FR = {
    "category.skills": "Compétences",
    "category.job_titles": "Intitulés de poste",
    "category.experience": "Expérience",
    "category.education": "Formation",
    "category.languages": "Langues",
    "category.location": "Localisation",
    "category.text": "Similarité globale des textes",
    "skills.found": "Possède {found} des {total} compétences du poste ({share} de leur poids) : {names}.",
    "skills.none_found": "Ne montre aucune des {total} compétences du poste.",
    "skills.missing": "Manquantes : {names}.",
    "skills.no_data": "Le poste ne nomme aucune compétence à comparer.",
    "titles": "Intitulé « {actual} » face à « {expected} » (similarité {value}).",
    "titles.no_data": "Pas d'intitulé de poste d'un côté : les textes entiers sont comparés à la place ({value}).",
    "experience": "{actual} ans d'expérience pour {expected} demandés.",
    "experience.no_requirement": "Le poste n'indique pas d'années d'expérience ; le profil en montre {actual}.",
    "experience.no_data": "Le profil ne montre pas d'expérience datée à comparer.",
    "education": "Niveau d'études : {actual}, pour {expected} demandé.",
    "education.no_data": "Pas de niveau d'études d'un côté pour comparer.",
    "languages": "Parle {actual} ; le poste demande {expected}.",
    "languages.no_data": "Pas de langues d'un côté pour comparer.",
    "location": "À {distance} km du poste.",
    "location.no_data": "Pas de localisation d'un côté pour comparer.",
    "text": "Similarité des textes {cosine} ; mots du poste trouvés dans le profil : {keywords}.",
    "summary": "Score {score}.",
    "summary.strengths": "Porté surtout par : {names}.",
    "summary.weaknesses": "Freiné par : {names}.",
    "suggestion": "Ajouter {skill} ferait passer le score de {before} à {after}.",
    "level.1": "enseignement secondaire",
    "level.2": "diplôme post-bac",
    "level.3": "licence",
    "level.4": "master",
    "level.5": "doctorat",
}
_ES = {
    "category.skills": "Habilidades",
    "category.job_titles": "Puestos",
    "category.experience": "Experiencia",
    "category.education": "Formación",
    "category.languages": "Idiomas",
    "category.location": "Ubicación",
    "category.text": "Similitud global de los textos",
    "skills.found": "Tiene {found} de las {total} habilidades del puesto ({share} de su peso): {names}.",
    "skills.none_found": "No muestra ninguna de las {total} habilidades del puesto.",
    "skills.missing": "Faltan: {names}.",
    "skills.no_data": "El puesto no nombra habilidades que comparar.",
    "titles": "Puesto «{actual}» frente a «{expected}» (similitud {value}).",
    "titles.no_data": "Falta el título del puesto en un lado: se comparan los textos completos ({value}).",
    "experience": "{actual} años de experiencia para {expected} pedidos.",
    "experience.no_requirement": "El puesto no indica años de experiencia; el perfil muestra {actual}.",
    "experience.no_data": "El perfil no muestra experiencia fechada que comparar.",
    "education": "Nivel de estudios: {actual}, para {expected} pedido.",
    "education.no_data": "Falta el nivel de estudios en un lado para comparar.",
    "languages": "Habla {actual}; el puesto pide {expected}.",
    "languages.no_data": "Faltan idiomas en un lado para comparar.",
    "location": "A {distance} km del puesto.",
    "location.no_data": "Falta la ubicación en un lado para comparar.",
    "text": "Similitud de los textos {cosine}; palabras del puesto halladas en el perfil: {keywords}.",
    "summary": "Puntuación {score}.",
    "summary.strengths": "La elevan sobre todo: {names}.",
    "summary.weaknesses": "La frenan: {names}.",
    "suggestion": "Añadir {skill} llevaría la puntuación de {before} a {after}.",
    "level.1": "educación secundaria",
    "level.2": "diploma postsecundario",
    "level.3": "grado",
    "level.4": "máster",
    "level.5": "doctorado",
}
_DE = {
    "category.skills": "Fähigkeiten",
    "category.job_titles": "Berufsbezeichnungen",
    "category.experience": "Berufserfahrung",
    "category.education": "Ausbildung",
    "category.languages": "Sprachen",
    "category.location": "Standort",
    "category.text": "Gesamtähnlichkeit der Texte",
    "skills.found": "Hat {found} der {total} Fähigkeiten der Stelle ({share} ihres Gewichts): {names}.",
    "skills.none_found": "Zeigt keine der {total} Fähigkeiten der Stelle.",
    "skills.missing": "Es fehlen: {names}.",
    "skills.no_data": "Die Stelle nennt keine Fähigkeiten zum Vergleich.",
    "titles": "Bezeichnung „{actual}“ gegenüber „{expected}“ (Ähnlichkeit {value}).",
    "titles.no_data": "Auf einer Seite fehlt die Berufsbezeichnung: verglichen werden die ganzen Texte ({value}).",
    "experience": "{actual} Jahre Berufserfahrung bei {expected} verlangten.",
    "experience.no_requirement": "Die Stelle nennt keine Berufsjahre; das Profil zeigt {actual}.",
    "experience.no_data": "Das Profil zeigt keine datierte Berufserfahrung zum Vergleich.",
    "education": "Abschluss: {actual}, verlangt: {expected}.",
    "education.no_data": "Auf einer Seite fehlt der Abschluss zum Vergleich.",
    "languages": "Spricht {actual}; die Stelle verlangt {expected}.",
    "languages.no_data": "Auf einer Seite fehlen Sprachen zum Vergleich.",
    "location": "{distance} km von der Stelle entfernt.",
    "location.no_data": "Auf einer Seite fehlt der Standort zum Vergleich.",
    "text": "Textähnlichkeit {cosine}; Wörter der Stelle im Profil gefunden: {keywords}.",
    "summary": "Bewertung {score}.",
    "summary.strengths": "Am meisten gehoben durch: {names}.",
    "summary.weaknesses": "Gebremst durch: {names}.",
    "suggestion": "{skill} hinzuzufügen würde die Bewertung von {before} auf {after} bringen.",
    "level.1": "Sekundarschule",
    "level.2": "postsekundäres Diplom",
    "level.3": "Bachelor",
    "level.4": "Master",
    "level.5": "Promotion",
}
TEMPLATES = {"en": _EN, "fr": _FR, "es": _ES, "de": _DE}
assert all(set(templates) == set(_EN) for templates in TEMPLATES.values())


class Wording:
    """The sentences of one output language."""

    def __init__(self, lang: str) -> None:
        if lang not in TEMPLATES:
            raise ValueError(f"no sentences in {lang!r}: {', '.join(LANGUAGES)}")
        self.lang = lang
        self._templates = TEMPLATES[lang]
        self._locale = Locale.parse(lang)

    def say(self, key: str, **values: object) -> str:
        return self._templates[key].format(**values)

    def number(self, value: float, digits: int = 2) -> str:
        return format_decimal(round(value, digits), format="#,##0." + "#" * digits, locale=self._locale)

    def percent(self, share: float) -> str:
        return format_percent(share, format="#,##0%", locale=self._locale)

    def names(self, names: Sequence[str]) -> str:
        """Up to MAX_LISTED names as one list ("a, b and c" in the locale's way)."""
        return format_list(list(names[:MAX_LISTED]), style="standard", locale=self._locale)

    def language(self, code: str) -> str:
        return self._locale.languages.get(code, code)

    def level(self, level: int) -> str:
        return self._templates[f"level.{level}"]

    def category(self, name: str) -> str:
        return self._templates[f"category.{name}"]
