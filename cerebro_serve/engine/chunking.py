"""Long texts into pieces that fit a model's window: cut at section headings, then into overlapping windows
by the model's own tokenizer, never silently truncated."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from pathlib import Path

from cerebro_serve.engine.encoder import HeadCutter, Pieces, PooledEncoder
from cerebro_serve.engine.models import document_prompt
from cerebro_serve.parsing.sections import heading_of

HEAD_CHARS_GUESS = 8  # characters per token of a head's first tokenized prefix (resume heads: ~6.1, p99 7.2)
HEAD_CHARS_PER_TOKEN = 16
WORD_BACKOFF_TOKENS = 16  # a window's end moves back at most this far to end on a whole word


class TokenWindow:
    """A model's tokenizer and token window: how its texts are cut into the pieces it reads. An object of
    its own, apart from the model, so that a bulk import's worker processes cut heads with exactly the
    encoder's rules (on a GPU node tokenizing costs more than the forward pass); pickled as where to load
    it from, not as a tokenizer."""

    def __init__(self, model_dir: Path, max_seq_length: int) -> None:
        from transformers import AutoTokenizer

        self.model_dir = model_dir
        self.max_seq_length = max_seq_length
        # A fast tokenizer is not safe to share between threads, and the next batch is being chunked while
        # the current one runs through the model: each window has its own tokenizer, behind a lock.
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        # Two special tokens ([CLS], [SEP]) and the model's prompt share its window with the text.
        prompt = document_prompt(model_dir)
        prompt_tokens = len(self._tokenizer(prompt, add_special_tokens=False)["input_ids"]) if prompt else 0
        self.window_tokens = max_seq_length - 2 - prompt_tokens
        self.overlap_tokens = self.window_tokens // 8
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type[TokenWindow], tuple[Path, int]]:
        return TokenWindow, (self.model_dir, self.max_seq_length)

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Each token's (start, end) in the text, special tokens left out."""
        with self._lock:
            return self._tokenizer(
                text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False
            )["offset_mapping"]

    def chunk(self, text: str) -> list[tuple[str, int]]:
        """Pieces of a text that each fit the window, with their token counts. A long text is cut at its
        section headings (whole sections packed together while they fit), so a piece reads as one part of
        a resume rather than the end of one section and the start of the next; a section longer than the
        window is cut into overlapping windows."""
        offsets = self.offsets(text)
        if len(offsets) <= self.window_tokens:
            return [(text, len(offsets) + 2)]
        chunks = []
        for begin, end in pack_sections(section_starts(text, offsets), len(offsets), self.window_tokens):
            step = self.window_tokens - self.overlap_tokens
            for start in range(begin, end, step):
                stop = min(start + self.window_tokens, end)
                chunks.append((text[offsets[start][0] : offsets[stop - 1][1]], stop - start + 2))
                if stop == end:
                    break
        return chunks

    def head(self, text: str, tokens: int) -> tuple[str, int]:
        """The text up to the last whole word within `tokens` (at most one window), and the tokens it
        holds. Only a prefix is tokenized: first one of HEAD_CHARS_GUESS characters per token, which
        settles almost every text, then, when its tokens up to the cut could still depend on where the
        prefix ended, one of HEAD_CHARS_PER_TOKEN: no real text spans that many characters per token, so a
        huge record costs no more."""
        limit = min(tokens, self.window_tokens)
        for chars_per_token in (HEAD_CHARS_GUESS, HEAD_CHARS_PER_TOKEN):
            prefix = text[: limit * chars_per_token]
            final = len(prefix) == len(text) or chars_per_token == HEAD_CHARS_PER_TOKEN
            offsets = self.offsets(prefix)
            if len(offsets) <= limit:
                if final:
                    return prefix, len(offsets)
                continue
            # Tokens that end before the prefix's last whitespace are whole words: the text's own tokens.
            if final or offsets[limit][1] <= max(prefix.rfind(" "), prefix.rfind("\n")):
                cut = _word_cut(offsets, limit)
                return text[: offsets[cut - 1][1]], cut
        raise AssertionError("the last prefix is final")

    def cut(self, texts: Sequence[str]) -> Pieces:
        pieces: list[str] = []
        owners: list[int] = []
        tokens: list[int] = []
        for owner, text in enumerate(texts):
            chunks = self.chunk(text) if text.strip() else [("", 2)]
            for piece, count in chunks:
                pieces.append(piece)
                owners.append(owner)
                tokens.append(count)
        return Pieces(pieces, owners, tokens)

    def cut_heads(self, texts: Sequence[str], tokens: Sequence[int]) -> Pieces:
        """Each text's head as one piece, tokenized once: the head fits the window, so nothing is chunked
        (a head cut mid-word may tokenize a token longer alone; the model's truncation drops that one)."""
        heads = [self.head(text, limit) if text.strip() else ("", 0) for text, limit in zip(texts, tokens, strict=True)]
        return Pieces([head for head, _ in heads], list(range(len(heads))), [count + 2 for _, count in heads])


class WindowedEncoder(PooledEncoder):
    """A transformer with a token window: texts longer than the window are cut into overlapping pieces by
    the model's own tokenizer (`TokenWindow`), never silently truncated."""

    def _init_window(self, model_dir: Path, max_seq_length: int) -> None:
        self.window = TokenWindow(model_dir, max_seq_length)
        self.window_tokens = self.window.window_tokens

    def chunk(self, text: str) -> list[tuple[str, int]]:
        return self.window.chunk(text)

    def head(self, text: str, tokens: int) -> str:
        return self.window.head(text, tokens)[0]

    def prepare(self, texts: Sequence[str]) -> Pieces:
        return self.window.cut(texts)

    def head_cutter(self) -> HeadCutter:
        return self.window


def _word_cut(offsets: Sequence[tuple[int, int]], limit: int) -> int:
    """How many of the first `limit` tokens to keep: fewer when a word starts near the end, so the cut
    ends on a whole word."""
    cut = limit  # the first token not read: back off to where a word begins, if one is near
    while cut > max(limit - WORD_BACKOFF_TOKENS, 1) and offsets[cut][0] == offsets[cut - 1][1]:
        cut -= 1
    if offsets[cut][0] == offsets[cut - 1][1]:
        cut = limit
    return cut


def section_starts(text: str, offsets: Sequence[tuple[int, int]]) -> list[int]:
    """Token positions where a section heading's line begins (parsing/sections.py headings)."""
    token_starts = [start for start, _ in offsets]
    starts, position = [], 0
    for line in text.split("\n"):
        if heading_of(line) is not None:
            token = bisect.bisect_left(token_starts, position)
            if 0 < token < len(offsets):
                starts.append(token)
        position += len(line) + 1
    return starts


def pack_sections(starts: Sequence[int], count: int, window: int) -> list[tuple[int, int]]:
    """Token ranges covering [0, count): consecutive sections joined while they fit the window together;
    a range longer than the window is one section too long to fit, which the caller cuts further."""
    ranges: list[tuple[int, int]] = []
    bounds = sorted(set(starts)) + [count]
    begin = end = 0
    for bound in bounds:
        if bound - begin > window and end > begin:
            ranges.append((begin, end))
            begin = end
        end = bound
    ranges.append((begin, count))
    return ranges


def word_cut(text: str, size: int) -> int:
    """Where to cut `text` to at most `size` characters: at its last space if that keeps more than half,
    else at `size` (a text without spaces nearby is cut mid-word)."""
    cut = text.rfind(" ", 0, size)
    return cut if cut > size // 2 else size


def split_long(text: str, size: int) -> list[str]:
    """A paragraph longer than `size` (a resume pasted without line breaks), cut at spaces."""
    pieces = []
    while len(text) > size:
        cut = word_cut(text, size)
        pieces.append(text[:cut])
        text = text[cut:].lstrip()
    return [*pieces, text] if text else pieces
