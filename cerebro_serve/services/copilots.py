"""Copilots: a Talent or Recruiter Copilot is a stored setting (pools, algorithm, design, embedding
origins) that pages serve to people who hold no API key. What lets them in is signed here: pre-signed URLs
for an iframe, a candidate's session, tracking pixels for the host site, scoped tokens for partner apps.
Every signature carries the copilot's generation, so revoking (raising it) invalidates them all at once;
disabling a copilot refuses them while it stays disabled."""

from __future__ import annotations

import secrets
import time
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.services.algorithms import AlgorithmService
from cerebro_serve.services.errors import Forbidden, InvalidParameters, Missing, Unauthorized
from cerebro_serve.services.feedback import FeedbackService
from cerebro_serve.services.pages import Page
from cerebro_serve.services.pools import PoolService
from cerebro_serve.services.queries import Key, TrackingCreate
from cerebro_serve.services.signatures import BadSignature, Expired, Signer, derived_secret
from cerebro_serve.services.timestamps import format_timestamp
from cerebro_serve.store import SqlStore
from cerebro_serve.store.copilots import StoredCopilot

CopilotType = Literal["talent", "recruiter"]
Filter = Literal["location", "keywords", "tags"]
Colour = Annotated[str, Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
# An origin a browser sends: scheme, host and an optional port, nothing after.
Origin = Annotated[str, Meta(pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", max_length=300)]
DAY = 86_400
DEFAULT_URL_SECONDS = 7 * DAY
MAX_URL_SECONDS = 366 * DAY
MAX_LOGO_BYTES = 200_000
LOGO_PATTERN = r"^data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=]+$"


class Design(Struct, kw_only=True, forbid_unknown_fields=True):
    """How the copilot's pages look. The logo is a data: URL (an image inline in the page): the pages
    fetch nothing from other hosts."""

    title: Annotated[str, Meta(min_length=1, max_length=200)] = "Find your match"
    welcome: Annotated[str, Meta(max_length=4000)] = ""
    primary_colour: Colour = "#1d4ed8"
    background_colour: Colour = "#ffffff"
    logo: Annotated[str, Meta(pattern=LOGO_PATTERN, max_length=MAX_LOGO_BYTES)] | None = None
    columns: Annotated[list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(max_length=20)] = []
    filters: list[Filter] = msgspec.field(default_factory=lambda: ["location", "keywords", "tags"])
    lang: Literal["en", "fr"] = "en"


class CopilotSettings(Struct, kw_only=True, forbid_unknown_fields=True):
    source_keys: Annotated[list[Key], Meta(min_length=1, max_length=20)]
    board_keys: Annotated[list[Key], Meta(min_length=1, max_length=20)]
    algorithm_key: Key | None = None  # None: the workspace default
    design: Design = msgspec.field(default_factory=Design)
    allowed_origins: Annotated[list[Origin], Meta(max_length=50)] = []


class CopilotCreate(CopilotSettings, kw_only=True, forbid_unknown_fields=True):
    type: CopilotType
    name: Annotated[str, Meta(min_length=1, max_length=256)]


class CopilotEdit(Struct, kw_only=True, forbid_unknown_fields=True):
    """The fields given replace the stored ones; `algorithm_key: null` serves the workspace default."""

    key: Key
    name: Annotated[str, Meta(min_length=1, max_length=256)] | UnsetType = UNSET
    source_keys: Annotated[list[Key], Meta(min_length=1, max_length=20)] | UnsetType = UNSET
    board_keys: Annotated[list[Key], Meta(min_length=1, max_length=20)] | UnsetType = UNSET
    algorithm_key: Key | None | UnsetType = UNSET
    design: Design | UnsetType = UNSET
    allowed_origins: Annotated[list[Origin], Meta(max_length=50)] | UnsetType = UNSET


class CopilotQuery(Struct, kw_only=True):
    key: Key


class CopilotListQuery(Struct, kw_only=True):
    page: Annotated[int, Meta(ge=1)] = 1
    limit: Annotated[int, Meta(ge=1, le=100)] = 30


class CopilotUrlCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    key: Key
    expires_in: Annotated[int, Meta(ge=60, le=MAX_URL_SECONDS)] = DEFAULT_URL_SECONDS


class CopilotDisable(Struct, kw_only=True, forbid_unknown_fields=True):
    key: Key
    disabled: bool = True


class PixelCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    """A view on the host site of one job by one profile, recorded as a tracking when the image loads."""

    key: Key
    profile_key: Key
    job_key: Key
    source_key: Key | None = None  # default: the copilot's first source
    board_key: Key | None = None  # default: the copilot's first board
    action: Annotated[str, Meta(min_length=1, max_length=256)] = "view"
    expires_in: Annotated[int, Meta(ge=60, le=MAX_URL_SECONDS)] = DEFAULT_URL_SECONDS


class Copilot(Struct, kw_only=True):
    """A copilot as the pages and the API see it."""

    key: str
    type: CopilotType
    name: str
    settings: CopilotSettings
    generation: int
    disabled: bool
    created_at_us: int
    updated_at_us: int

    @property
    def source_key(self) -> str:
        """Where a Talent Copilot's uploaded resumes go."""
        return self.settings.source_keys[0]

    def frame_ancestors(self) -> str:
        """The CSP directive that lets only the allowed origins (and this server) embed the pages."""
        return " ".join(["frame-ancestors 'self'", *self.settings.allowed_origins])

    def view(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "type": self.type,
            "name": self.name,
            **msgspec.to_builtins(self.settings),
            "disabled": self.disabled,
            "created_at": format_timestamp(self.created_at_us),
            "updated_at": format_timestamp(self.updated_at_us),
        }


def _copilot(stored: StoredCopilot) -> Copilot:
    return Copilot(
        key=stored.key,
        type=stored.type,  # type: ignore[arg-type]  # checked on the way in
        name=stored.name,
        settings=msgspec.json.decode(stored.config, type=CopilotSettings),
        generation=stored.generation,
        disabled=stored.disabled,
        created_at_us=stored.created_at_us,
        updated_at_us=stored.updated_at_us,
    )


def new_copilot_key() -> str:
    return "cop_" + secrets.token_hex(12)


class CopilotService:
    def __init__(
        self,
        store: SqlStore,
        pools: PoolService,
        algorithms: AlgorithmService,
        feedback: FeedbackService,
        admin_key: str,
    ) -> None:
        self.store = store.copilots
        self.pools = pools
        self.algorithms = algorithms
        self.feedback = feedback
        self.signer = Signer(derived_secret(admin_key, "cerebro-copilots-v1"))

    # Setup (admin) ---------------------------------------------------------------------------------------

    def create(self, request: CopilotCreate) -> Copilot:
        settings = CopilotSettings(
            source_keys=request.source_keys,
            board_keys=request.board_keys,
            algorithm_key=request.algorithm_key,
            design=request.design,
            allowed_origins=request.allowed_origins,
        )
        self._check(settings)
        stored = self.store.add(new_copilot_key(), request.type, request.name, msgspec.json.encode(settings).decode())
        return _copilot(stored)

    def edit(self, request: CopilotEdit) -> Copilot:
        copilot = self.get(request.key)
        changes = {name: getattr(request, name) for name in CopilotSettings.__struct_fields__}
        settings = msgspec.structs.replace(
            copilot.settings, **{name: value for name, value in changes.items() if value is not UNSET}
        )
        self._check(settings)
        name = copilot.name if isinstance(request.name, UnsetType) else request.name
        self.store.update(copilot.key, name=name, config=msgspec.json.encode(settings).decode())
        return self.get(copilot.key)

    def _check(self, settings: CopilotSettings) -> None:
        for key in settings.source_keys:
            self.pools.require(PROFILE, key)
        for key in settings.board_keys:
            self.pools.require(JOB, key)
        if settings.algorithm_key is not None:
            self.algorithms.require_known(settings.algorithm_key)

    def get(self, key: str) -> Copilot:
        stored = self.store.get(key)
        if stored is None:
            raise Missing(f"no copilot {key}")
        return _copilot(stored)

    def list(self, query: CopilotListQuery) -> Page[dict[str, Any]]:
        stored, total = self.store.list((query.page - 1) * query.limit, query.limit)
        return Page([_copilot(one).view() for one in stored], query.page, query.limit, total)

    def disable(self, request: CopilotDisable) -> Copilot:
        if not self.store.update(request.key, disabled=request.disabled):
            raise Missing(f"no copilot {request.key}")
        return self.get(request.key)

    def revoke(self, key: str) -> Copilot:
        """Every URL, pixel, candidate session and token signed for the copilot so far stops working."""
        if not self.store.revoke(key):
            raise Missing(f"no copilot {key}")
        return self.get(key)

    # Signing -----------------------------------------------------------------------------------------------

    def presigned_path(self, key: str, expires_in: int = DEFAULT_URL_SECONDS) -> tuple[str, int]:
        """(the path of the copilot's page with its access token, when it expires in Unix seconds)."""
        copilot = self.get(key)
        expires_at = int(time.time()) + expires_in
        return f"/copilot/{key}?access={self.access_token(copilot, expires_at)}", expires_at

    def access_token(self, copilot: Copilot, expires_at: int) -> str:
        return self.signer.sign("page", {"c": copilot.key, "g": copilot.generation}, expires_at)

    def partner_token(self, key: str, expires_in: int) -> tuple[str, int]:
        """A token a partner app's server sends as `Authorization: Bearer`: what the copilot does, no more."""
        copilot = self.get(key)
        expires_at = int(time.time()) + expires_in
        return "cpt_" + self.signer.sign("partner", {"c": key, "g": copilot.generation}, expires_at), expires_at

    def candidate_token(self, copilot: Copilot, profile_key: str, expires_at: int) -> str:
        """The candidate's session in a Talent Copilot: whose profile the pages show and act for."""
        return self.signer.sign("candidate", {"c": copilot.key, "g": copilot.generation, "p": profile_key}, expires_at)

    def pixel_path(self, request: PixelCreate) -> tuple[str, int]:
        copilot = self.get(request.key)
        expires_at = int(time.time()) + request.expires_in
        source_key = request.source_key or copilot.source_key
        board_key = request.board_key or copilot.settings.board_keys[0]
        if source_key not in copilot.settings.source_keys or board_key not in copilot.settings.board_keys:
            raise InvalidParameters("`source_key` and `board_key` must be among the copilot's pools")
        claims = {"c": copilot.key, "g": copilot.generation, "p": request.profile_key, "j": request.job_key}
        claims |= {"s": source_key, "b": board_key}
        token = self.signer.sign("pixel", {**claims, "a": request.action}, expires_at)
        return f"/copilot/{copilot.key}/pixel.gif?t={token}", expires_at

    # Verification ------------------------------------------------------------------------------------------

    def _claims(self, purpose: str, key: str | None, token: str | None) -> tuple[Copilot, dict[str, Any]]:
        if not token:
            raise Unauthorized("this page needs a signed link: ask the site that sent you for a new one")
        try:
            claims = self.signer.verify(purpose, token)
        except Expired:
            raise Unauthorized("this link has expired: ask the site that sent you for a new one") from None
        except BadSignature:
            raise Unauthorized("this link is not valid: it was changed or is not for this page") from None
        if key is not None and claims.get("c") != key:
            raise Unauthorized("this link is not valid: it was changed or is not for this page")
        stored = self.store.get(str(claims.get("c")))
        if stored is None:
            raise Unauthorized("this link is not valid: its copilot no longer exists")
        copilot = _copilot(stored)
        if claims.get("g") != copilot.generation:
            raise Unauthorized("this link was revoked: ask the site that sent you for a new one")
        if copilot.disabled:
            raise Forbidden("this copilot is switched off by its owner")
        return copilot, claims

    def open(self, key: str, access: str | None) -> tuple[Copilot, int]:
        """The copilot a page's access token opens, and when that token expires."""
        copilot, claims = self._claims("page", key, access)
        return copilot, claims["exp"]

    def candidate(self, copilot: Copilot, token: str | None) -> str | None:
        """The profile key of the candidate's session, or None when there is none (or it is not genuine)."""
        if not token:
            return None
        try:
            claims = self.signer.verify("candidate", token)
        except (BadSignature, Expired):
            return None
        if claims.get("c") != copilot.key or claims.get("g") != copilot.generation:
            return None
        return str(claims["p"])

    def partner(self, token: str) -> Copilot:
        """The copilot a partner app's bearer token acts for."""
        copilot, _ = self._claims("partner", None, token.removeprefix("cpt_"))
        return copilot

    def record_pixel(self, key: str, token: str | None) -> None:
        """Record the view a pixel stands for as a tracking of the candidate (the Tracking API's event)."""
        copilot, claims = self._claims("pixel", key, token)
        self.feedback.track(
            TrackingCreate(
                role="candidate",
                action=str(claims["a"]),
                source_key=str(claims["s"]),
                board_key=str(claims["b"]),
                profile_key=str(claims["p"]),
                job_key=str(claims["j"]),
            )
        )
