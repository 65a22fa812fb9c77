"""Sentences of an explanation (and of what a training learned) in English, French, Spanish and German, from
templates over its facts.

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
    "category.rated": "Likeness to the candidates rated for this job",
    "skills.found": "Has {found} of the job's {total} skills ({share} of their weight): {names}.",
    "skills.none_found": "Shows none of the job's {total} skills.",
    "skills.missing": "Missing: {names}.",
    "skills.no_data": "The job names no skills to compare.",
    "titles": "Title “{actual}” against “{expected}” (similarity {value}).",
    "titles.no_data": "No job title on one side: the full texts are compared instead ({value}).",
    "experience": "{actual} years of experience for {expected} asked.",
    "experience.no_requirement": "The job states no years of experience; the profile shows {actual}.",
    "experience.no_data": "The profile shows no dated experience to compare.",
    "rated.good": (
        "Its experience is closer to the candidates rated good for this job than to those rated poor "
        "({value}; 0.5 is neither)."
    ),
    "rated.poor": (
        "Its experience is closer to the candidates rated poor for this job than to those rated good "
        "({value}; 0.5 is neither)."
    ),
    "rated.no_data": (
        "Plays no part here: it counts when profiles are ranked for a job rated both good and poor, for a "
        "profile with experience to compare."
    ),
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
    "learned.gained": (
        "{criterion} gained weight: {after} of what separates one candidate from another, against {before} before."
    ),
    "learned.lost": (
        "{criterion} lost weight: {after} of what separates one candidate from another, against {before} before."
    ),
    "learned.steady": "No criterion's weight changed by a quarter or more.",
    "learned.effect": (
        "Without this change, the validation jobs' average precision would be {effect} lower (standard error {spread})."
    ),
    "learned.unshown": (
        "Also changed, with no effect beyond noise on the validation jobs, so no lesson is claimed: {names}."
    ),
    "learned.part.words": "the preferred words",
    "learned.part.trees": "the new decision trees",
    "learned.part.adapter": "how job texts are compared with profiles",
    "learned.combined": (
        "{names} now count together: how much one weighs depends on the other, in {trees} small decision trees "
        "learnt from your feedback."
    ),
    "learned.adapter": "How a job's text is compared with a profile's was adapted to your feedback.",
    "learned.evidence": (
        "On {jobs} validation jobs it did not train on, each ranked against all {profiles} profiles of the "
        "feedback: nDCG@10 {ndcg_after} against {ndcg_before} before; {precision_after} of the top 10 were "
        "positives, against {precision_before}."
    ),
    "learned.words": "Profiles whose text mentions {names}, which the jobs' texts do not ask for, now rank higher.",
    "text.preferred": (
        "It holds {share} of the words this workspace's recruiters favour beyond the job's text: {names}."
    ),
}
_FR = {
    "category.skills": "Compétences",
    "category.job_titles": "Intitulés de poste",
    "category.experience": "Expérience",
    "category.education": "Formation",
    "category.languages": "Langues",
    "category.location": "Localisation",
    "category.text": "Similarité globale des textes",
    "category.rated": "Ressemblance aux candidats évalués pour ce poste",
    "skills.found": "Possède {found} des {total} compétences du poste ({share} de leur poids) : {names}.",
    "skills.none_found": "Ne montre aucune des {total} compétences du poste.",
    "skills.missing": "Manquantes : {names}.",
    "skills.no_data": "Le poste ne nomme aucune compétence à comparer.",
    "titles": "Intitulé « {actual} » face à « {expected} » (similarité {value}).",
    "titles.no_data": "Pas d'intitulé de poste d'un côté : les textes entiers sont comparés à la place ({value}).",
    "experience": "{actual} ans d'expérience pour {expected} demandés.",
    "experience.no_requirement": "Le poste n'indique pas d'années d'expérience ; le profil en montre {actual}.",
    "experience.no_data": "Le profil ne montre pas d'expérience datée à comparer.",
    "rated.good": (
        "Son expérience ressemble davantage aux candidats jugés bons pour ce poste qu'à ceux jugés faibles "
        "({value} ; 0,5 : ni l'un ni l'autre)."
    ),
    "rated.poor": (
        "Son expérience ressemble davantage aux candidats jugés faibles pour ce poste qu'à ceux jugés bons "
        "({value} ; 0,5 : ni l'un ni l'autre)."
    ),
    "rated.no_data": (
        "Ne joue pas ici : elle compte quand des profils sont classés pour un poste évalué à la fois bon et "
        "faible, pour un profil dont l'expérience peut être comparée."
    ),
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
    "learned.gained": "{criterion} a pris du poids : {after} de ce qui départage les candidats, contre {before} avant.",
    "learned.lost": "{criterion} a perdu du poids : {after} de ce qui départage les candidats, contre {before} avant.",
    "learned.steady": "Aucun critère n'a vu son poids changer d'un quart ou plus.",
    "learned.effect": (
        "Sans ce changement, la précision moyenne des offres de validation serait inférieure de "
        "{effect} (erreur type {spread})."
    ),
    "learned.unshown": (
        "Ont aussi changé, sans effet au-delà du bruit sur les offres de validation, donc sans leçon tirée : {names}."
    ),
    "learned.part.words": "les mots préférés",
    "learned.part.trees": "les nouveaux arbres de décision",
    "learned.part.adapter": "la comparaison des textes d'offres aux profils",
    "learned.combined": (
        "{names} comptent désormais ensemble : le poids de l'un dépend de l'autre, dans {trees} petits arbres "
        "de décision appris de vos retours."
    ),
    "learned.adapter": "La façon de comparer le texte d'une offre à celui d'un profil a été adaptée à vos retours.",
    "learned.evidence": (
        "Sur {jobs} offres de validation non vues à l'entraînement, chacune classant les {profiles} profils "
        "des retours : nDCG@10 {ndcg_after} contre {ndcg_before} avant ; {precision_after} du top 10 étaient "
        "des positifs, contre {precision_before}."
    ),
    "learned.words": (
        "Les profils dont le texte mentionne {names}, que les offres ne demandent pas, sont désormais mieux classés."
    ),
    "text.preferred": (
        "Il contient {share} des mots que les recruteurs de cet espace privilégient au-delà du texte de "
        "l'offre : {names}."
    ),
}
_ES = {
    "category.skills": "Habilidades",
    "category.job_titles": "Puestos",
    "category.experience": "Experiencia",
    "category.education": "Formación",
    "category.languages": "Idiomas",
    "category.location": "Ubicación",
    "category.text": "Similitud global de los textos",
    "category.rated": "Parecido con los candidatos valorados para este puesto",
    "skills.found": "Tiene {found} de las {total} habilidades del puesto ({share} de su peso): {names}.",
    "skills.none_found": "No muestra ninguna de las {total} habilidades del puesto.",
    "skills.missing": "Faltan: {names}.",
    "skills.no_data": "El puesto no nombra habilidades que comparar.",
    "titles": "Puesto «{actual}» frente a «{expected}» (similitud {value}).",
    "titles.no_data": "Falta el título del puesto en un lado: se comparan los textos completos ({value}).",
    "experience": "{actual} años de experiencia para {expected} pedidos.",
    "experience.no_requirement": "El puesto no indica años de experiencia; el perfil muestra {actual}.",
    "experience.no_data": "El perfil no muestra experiencia fechada que comparar.",
    "rated.good": (
        "Su experiencia se parece más a la de los candidatos valorados como buenos para este puesto que a la "
        "de los valorados como flojos ({value}; 0,5: ni una ni otra)."
    ),
    "rated.poor": (
        "Su experiencia se parece más a la de los candidatos valorados como flojos para este puesto que a la "
        "de los valorados como buenos ({value}; 0,5: ni una ni otra)."
    ),
    "rated.no_data": (
        "No cuenta aquí: cuenta cuando se clasifican perfiles para un puesto con valoraciones buenas y flojas, "
        "para un perfil con experiencia que comparar."
    ),
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
    "learned.gained": (
        "{criterion} ganó peso: {after} de lo que distingue a un candidato de otro, frente a {before} antes."
    ),
    "learned.lost": (
        "{criterion} perdió peso: {after} de lo que distingue a un candidato de otro, frente a {before} antes."
    ),
    "learned.steady": "Ningún criterio cambió de peso en una cuarta parte o más.",
    "learned.effect": (
        "Sin este cambio, la precisión media de las ofertas de validación sería {effect} más baja "
        "(error estándar {spread})."
    ),
    "learned.unshown": (
        "También cambiaron, sin efecto más allá del ruido en las ofertas de validación, así que no se afirma "
        "ninguna lección: {names}."
    ),
    "learned.part.words": "las palabras preferidas",
    "learned.part.trees": "los nuevos árboles de decisión",
    "learned.part.adapter": "la comparación de los textos de las ofertas con los perfiles",
    "learned.combined": (
        "{names} cuentan ahora juntos: el peso de uno depende del otro, en {trees} pequeños árboles de decisión "
        "aprendidos de sus valoraciones."
    ),
    "learned.adapter": "La forma de comparar el texto de una oferta con el de un perfil se adaptó a sus valoraciones.",
    "learned.evidence": (
        "En {jobs} ofertas de validación no vistas en el entrenamiento, cada una ordenando los {profiles} "
        "perfiles de las valoraciones: nDCG@10 {ndcg_after} frente a {ndcg_before} antes; {precision_after} "
        "del top 10 eran positivos, frente a {precision_before}."
    ),
    "learned.words": (
        "Los perfiles cuyo texto menciona {names}, que las ofertas no piden, ahora se clasifican más arriba."
    ),
    "text.preferred": (
        "Contiene {share} de las palabras que los reclutadores de este espacio prefieren más allá del texto "
        "de la oferta: {names}."
    ),
}
_DE = {
    "category.skills": "Fähigkeiten",
    "category.job_titles": "Berufsbezeichnungen",
    "category.experience": "Berufserfahrung",
    "category.education": "Ausbildung",
    "category.languages": "Sprachen",
    "category.location": "Standort",
    "category.text": "Gesamtähnlichkeit der Texte",
    "category.rated": "Ähnlichkeit mit den für diese Stelle bewerteten Kandidaten",
    "skills.found": "Hat {found} der {total} Fähigkeiten der Stelle ({share} ihres Gewichts): {names}.",
    "skills.none_found": "Zeigt keine der {total} Fähigkeiten der Stelle.",
    "skills.missing": "Es fehlen: {names}.",
    "skills.no_data": "Die Stelle nennt keine Fähigkeiten zum Vergleich.",
    "titles": "Bezeichnung „{actual}“ gegenüber „{expected}“ (Ähnlichkeit {value}).",
    "titles.no_data": "Auf einer Seite fehlt die Berufsbezeichnung: verglichen werden die ganzen Texte ({value}).",
    "experience": "{actual} Jahre Berufserfahrung bei {expected} verlangten.",
    "experience.no_requirement": "Die Stelle nennt keine Berufsjahre; das Profil zeigt {actual}.",
    "experience.no_data": "Das Profil zeigt keine datierte Berufserfahrung zum Vergleich.",
    "rated.good": (
        "Die Berufserfahrung ähnelt eher den für diese Stelle gut bewerteten Kandidaten als den schwach "
        "bewerteten ({value}; 0,5: weder noch)."
    ),
    "rated.poor": (
        "Die Berufserfahrung ähnelt eher den für diese Stelle schwach bewerteten Kandidaten als den gut "
        "bewerteten ({value}; 0,5: weder noch)."
    ),
    "rated.no_data": (
        "Zählt hier nicht: sie zählt, wenn Profile für eine Stelle mit guten und schwachen Bewertungen gereiht "
        "werden, bei einem Profil mit vergleichbarer Berufserfahrung."
    ),
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
    "learned.gained": (
        "{criterion} hat an Gewicht gewonnen: {after} dessen, was Kandidaten voneinander unterscheidet, "
        "gegenüber {before} zuvor."
    ),
    "learned.lost": (
        "{criterion} hat an Gewicht verloren: {after} dessen, was Kandidaten voneinander unterscheidet, "
        "gegenüber {before} zuvor."
    ),
    "learned.steady": "Kein Kriterium hat sein Gewicht um ein Viertel oder mehr geändert.",
    "learned.effect": (
        "Ohne diese Änderung läge die durchschnittliche Präzision der Validierungsstellen um "
        "{effect} niedriger (Standardfehler {spread})."
    ),
    "learned.unshown": (
        "Ebenfalls geändert, ohne Wirkung über das Rauschen hinaus auf den Validierungsstellen, daher wird keine "
        "Lehre daraus gezogen: {names}."
    ),
    "learned.part.words": "die bevorzugten Wörter",
    "learned.part.trees": "die neuen Entscheidungsbäume",
    "learned.part.adapter": "der Vergleich von Stellentexten mit Profilen",
    "learned.combined": (
        "{names} zählen jetzt zusammen: wie viel das eine wiegt, hängt vom anderen ab, in {trees} kleinen "
        "Entscheidungsbäumen, die aus Ihrem Feedback gelernt wurden."
    ),
    "learned.adapter": (
        "Wie der Text einer Stelle mit dem eines Profils verglichen wird, wurde an Ihr Feedback angepasst."
    ),
    "learned.evidence": (
        "Auf {jobs} Validierungsstellen, die das Training nicht sah, jede gegen alle {profiles} Profile des "
        "Feedbacks gereiht: nDCG@10 {ndcg_after} gegenüber {ndcg_before} zuvor; {precision_after} der Top 10 "
        "waren positiv, gegenüber {precision_before}."
    ),
    "learned.words": (
        "Profile, deren Text {names} nennt, was die Stellentexte nicht verlangen, stehen jetzt weiter oben."
    ),
    "text.preferred": (
        "Es enthält {share} der Wörter, die die Recruiter dieses Arbeitsbereichs über den Stellentext hinaus "
        "bevorzugen: {names}."
    ),
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
