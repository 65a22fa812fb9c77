"""The Text API: `text/parsing`, `text/tagging`, `text/embedding`, `text/linking`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post

from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, json_body
from cerebro_serve.api.routes.common import READ, call, workspace_of
from cerebro_serve.services.errors import InvalidParameters

Text = Annotated[str, msgspec.Meta(max_length=200_000)]


class TextsBody(msgspec.Struct, kw_only=True):
    text: Text | None = None
    texts: list[Text] | None = None

    def inputs(self) -> tuple[list[str], bool]:
        """The texts to work on, and whether the caller sent a list (and wants a list back)."""
        if (self.text is None) == (self.texts is None):
            raise InvalidParameters("send exactly one of `text` and `texts`")
        return ([self.text], False) if self.text is not None else (list(self.texts or []), True)


class TaggingBody(TextsBody, kw_only=True):
    algorithm_key: str
    top_n: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    output_lang: str = "en"
    context: str | None = None
    labels: list[str] | None = None


class EmbeddingBody(msgspec.Struct, kw_only=True):
    text: Text | None = None


class LinkingBody(msgspec.Struct, kw_only=True):
    word: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    top_n: Annotated[int, msgspec.Meta(ge=0, le=100)] = 5


def _one_or_many(results: list[Any], many: bool) -> Any:
    return results if many else results[0]


@post("/text/parsing", opt=READ, name="text-parsing", tags=["text"], summary="Entities with offsets in free text")
async def text_parsing(request: Request) -> Response:
    texts, many = convert(await json_body(request), TextsBody).inputs()
    service = workspace_of(request).text
    results = [await call(service.parse, text) for text in texts]
    return envelope(200, "Text parsed", _one_or_many(results, many))


@post(
    "/text/tagging",
    opt=READ,
    name="text-tagging",
    tags=["text"],
    summary="Taxonomy tags of a text: `tagger-hrflow-skills` (ESCO/O*NET skills) or an occupation tagger",
)
async def text_tagging(request: Request) -> Response:
    body = convert(await json_body(request), TaggingBody)
    texts, many = body.inputs()
    service = workspace_of(request).text
    results = [await call(service.tag, text, body.algorithm_key, body.top_n, body.output_lang) for text in texts]
    return envelope(200, "Text tagged", _one_or_many(results, many))


@post(
    "/text/embedding",
    opt=READ,
    name="text-embedding",
    tags=["text"],
    summary="The workspace encoder's vector of a text (its dimension is the model's, 384 for MiniLM)",
)
async def text_embedding(request: Request) -> Response:
    body = convert(await json_body(request), EmbeddingBody)
    if body.text is None:
        raise InvalidParameters("`text` is null: send a string")
    vector = await call(workspace_of(request).text.embed, body.text)
    return envelope(200, "Text embedded", [{"embedding": vector}])


@post(
    "/text/linking",
    opt=READ,
    name="text-linking",
    tags=["text"],
    summary="The taxonomy skills nearest to a word, with similarities (first call embeds the taxonomy once)",
)
async def text_linking(request: Request) -> Response:
    body = convert(await json_body(request), LinkingBody)
    links = await call(workspace_of(request).text.link, body.word, body.top_n)
    return envelope(200, "Word linked", links)


text_handlers = [text_parsing, text_tagging, text_embedding, text_linking]
