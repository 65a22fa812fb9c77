"""The Text API: `text/parsing`, `text/tagging`, `text/embedding`, `text/linking`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post

from cerebro_serve.api.contract import reads
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, json_body
from cerebro_serve.api.routes.common import call, workspace_of
from cerebro_serve.services.errors import InvalidParameters
from cerebro_serve.services.text import OCCUPATION_TAGGERS, OUTPUT_LANGS, SKILL_TAGGERS

Text = Annotated[str, msgspec.Meta(max_length=200_000)]
ONE_TEXT = (("text",), ("texts",))  # `text` (one answer) or `texts` (a list of answers), never both

# The service refuses other values with a 400 naming the choices; the schema lists them.
Tagger = Annotated[str, msgspec.Meta(extra_json_schema={"enum": sorted(SKILL_TAGGERS | OCCUPATION_TAGGERS)})]
OutputLang = Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(OUTPUT_LANGS)})]


class TextsBody(msgspec.Struct, kw_only=True):
    text: Text | msgspec.UnsetType = msgspec.UNSET
    texts: Annotated[list[Text], msgspec.Meta(max_length=100)] | msgspec.UnsetType = msgspec.UNSET

    def inputs(self) -> tuple[list[str], bool]:
        """The texts to work on, and whether the caller sent a list (and wants a list back)."""
        if isinstance(self.text, str) == isinstance(self.texts, list):
            raise InvalidParameters("send exactly one of `text` and `texts`")
        return ([self.text], False) if isinstance(self.text, str) else (list(self.texts or []), True)


class TaggingBody(TextsBody, kw_only=True):
    algorithm_key: Tagger
    top_n: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    output_lang: OutputLang = "en"
    context: str | None = None
    labels: list[str] | None = None


class EmbeddingBody(msgspec.Struct, kw_only=True):
    text: Text


class Embedding(msgspec.Struct):
    embedding: list[float]


class LinkingBody(msgspec.Struct, kw_only=True):
    word: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    top_n: Annotated[int, msgspec.Meta(ge=0, le=100)] = 5


def _one_or_many(results: list[Any], many: bool) -> Any:
    return results if many else results[0]


@post(
    "/text/parsing",
    opt=reads(body=TextsBody, body_one_of=ONE_TEXT, answers={200: Any}, example={"text": "Python developer in Paris"}),
    name="text-parsing",
    tags=["text"],
    summary="Entities with offsets in free text",
)
async def text_parsing(request: Request) -> Response:
    texts, many = convert(await json_body(request), TextsBody).inputs()
    service = workspace_of(request).text
    results = [await call(service.parse, text) for text in texts]
    return envelope(200, "Text parsed", _one_or_many(results, many))


@post(
    "/text/tagging",
    opt=reads(
        body=TaggingBody,
        body_one_of=ONE_TEXT,
        answers={200: Any},
        example={"text": "Python, Spark and SQL", "algorithm_key": "tagger-hrflow-skills", "top_n": 3},
    ),
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
    opt=reads(body=EmbeddingBody, answers={200: list[Embedding]}, encodes=True, example={"text": "Data engineer"}),
    name="text-embedding",
    tags=["text"],
    summary="The workspace encoder's vector of a text (its dimension is the model's, 384 for MiniLM)",
)
async def text_embedding(request: Request) -> Response:
    body = convert(await json_body(request), EmbeddingBody)
    vector = await call(workspace_of(request).text.embed, body.text)
    return envelope(200, "Text embedded", [Embedding(embedding=vector)])


@post(
    "/text/linking",
    opt=reads(body=LinkingBody, answers={200: list[list[str | float]]}, encodes=True, example={"word": "pyton"}),
    name="text-linking",
    tags=["text"],
    summary="The taxonomy skills nearest to a word, with similarities (first call embeds the taxonomy once)",
)
async def text_linking(request: Request) -> Response:
    body = convert(await json_body(request), LinkingBody)
    links = await call(workspace_of(request).text.link, body.word, body.top_n)
    return envelope(200, "Word linked", links)


text_handlers = [text_parsing, text_tagging, text_embedding, text_linking]
