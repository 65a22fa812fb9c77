"""The copilot form of the Studio, both ways: what the admin typed becomes the API's CopilotCreate or
CopilotEdit (so the page and the API accept and refuse the same settings), and a stored copilot becomes
the form's values again. A logo arrives as an uploaded file and is kept as a data: URL, so a copilot's
pages never fetch an image from elsewhere."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar.datastructures import FormMultiDict, UploadFile

from cerebro_serve.services.copilots import MAX_LOGO_BYTES, Copilot, CopilotCreate, CopilotEdit, Design
from cerebro_serve.services.errors import InvalidParameters

LOGO_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
# The file's bytes grow by a third in base64 and the data: URL adds its header: what fits the setting.
MAX_LOGO_FILE = (MAX_LOGO_BYTES - 40) * 3 // 4
FILTERS = ("location", "keywords", "tags")


@dataclass
class CopilotForm:
    """The form's values, as typed (or as stored), shown again when the admin must correct them."""

    type: str = "talent"
    name: str = ""
    source_keys: list[str] = field(default_factory=list)
    board_keys: list[str] = field(default_factory=list)
    algorithm_key: str = ""
    title: str = Design().title
    welcome: str = ""
    primary_colour: str = Design().primary_colour
    background_colour: str = Design().background_colour
    logo: str | None = None
    columns: str = ""
    filters: list[str] = field(default_factory=lambda: list(FILTERS))
    lang: str = "en"
    allowed_origins: str = ""
    logo_problem: str | None = None  # why the uploaded logo was not taken, said when the form is saved

    @classmethod
    def of(cls, copilot: Copilot) -> CopilotForm:
        settings, design = copilot.settings, copilot.settings.design
        return cls(
            type=copilot.type,
            name=copilot.name,
            source_keys=list(settings.source_keys),
            board_keys=list(settings.board_keys),
            algorithm_key=settings.algorithm_key or "",
            title=design.title,
            welcome=design.welcome,
            primary_colour=design.primary_colour,
            background_colour=design.background_colour,
            logo=design.logo,
            columns=", ".join(design.columns),
            filters=list(design.filters),
            lang=design.lang,
            allowed_origins="\n".join(settings.allowed_origins),
        )

    @classmethod
    async def read(cls, form: FormMultiDict, current_logo: str | None = None) -> CopilotForm:
        """The posted form; the logo is the uploaded file's, else the current one unless removed."""
        logo = None if form.get("remove_logo") else current_logo
        problem = None
        upload = form.get("logo")
        if isinstance(upload, UploadFile) and upload.filename:
            try:
                logo = _data_url(upload.content_type, await upload.read())
            except InvalidParameters as error:
                problem = error.detail
        return cls(
            type=_text(form, "type"),
            name=_text(form, "name"),
            source_keys=[key for key in form.getall("source_keys", []) if isinstance(key, str)],
            board_keys=[key for key in form.getall("board_keys", []) if isinstance(key, str)],
            algorithm_key=_text(form, "algorithm_key"),
            title=_text(form, "title"),
            welcome=_text(form, "welcome"),
            primary_colour=_text(form, "primary_colour"),
            background_colour=_text(form, "background_colour"),
            logo=logo,
            columns=_text(form, "columns"),
            filters=[name for name in form.getall("filters", []) if isinstance(name, str)],
            lang=_text(form, "lang"),
            allowed_origins=_text(form, "allowed_origins"),
            logo_problem=problem,
        )

    def settings(self) -> dict[str, Any]:
        """The settings as the API's JSON body has them."""
        if self.logo_problem:
            raise InvalidParameters(self.logo_problem)
        if not self.source_keys:
            raise InvalidParameters("choose at least one source of profiles")
        if not self.board_keys:
            raise InvalidParameters("choose at least one board of jobs")
        design = {
            "title": self.title,
            "welcome": self.welcome,
            "primary_colour": self.primary_colour,
            "background_colour": self.background_colour,
            "logo": self.logo,
            "columns": [name.strip() for name in self.columns.split(",") if name.strip()],
            "filters": self.filters,
            "lang": self.lang,
        }
        return {
            "name": self.name,
            "source_keys": self.source_keys,
            "board_keys": self.board_keys,
            "design": design,
            "allowed_origins": [line.strip() for line in self.allowed_origins.splitlines() if line.strip()],
        }

    def create(self) -> CopilotCreate:
        body = {**self.settings(), "type": self.type, "algorithm_key": self.algorithm_key or None}
        return _convert(body, CopilotCreate)

    def edit(self, key: str) -> CopilotEdit:
        """An edit of every setting; no algorithm chosen serves the workspace default."""
        return _convert({**self.settings(), "key": key, "algorithm_key": self.algorithm_key or None}, CopilotEdit)


def _text(form: FormMultiDict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _data_url(content_type: str | None, data: bytes) -> str:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in LOGO_TYPES:
        raise InvalidParameters("the logo must be a PNG, JPEG, GIF, WebP or SVG image")
    if len(data) > MAX_LOGO_FILE:
        raise InvalidParameters(f"the logo is larger than {MAX_LOGO_FILE // 1000} kB")
    if not data:
        raise InvalidParameters("the logo file is empty")
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _convert(body: dict[str, Any], kind: type[Any]) -> Any:
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as error:
        raise InvalidParameters.from_validation(error) from None
