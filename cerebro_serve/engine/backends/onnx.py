"""ONNX Runtime backend for mean-pooled sentence-transformers models (the BERT family) on CPU.

The model is exported once from its local directory (PyTorch, eager attention), optimised for BERT, and
its weight MatMuls quantised to int8 (per channel; 7-bit weights on CPUs without VNNI, whose u8*s8
instructions saturate in 16 bits), and once more with each layer's FFN output MatMul left in fp32 (its
inputs, after GELU, have outliers that one int8 scale cannot hold: multilingual-e5-small's full int8
drifts to cosine 0.96). The first int8 model that, on this machine's kernels, keeps its vectors within
MIN_FIDELITY cosine of the fp32 export's on reference texts serves (checked at every load: a data
directory may move to another CPU); else the fp32 export serves. Exports live in a cache folder keyed by
the weights' digest, so a restart loads in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cerebro_serve.engine.chunking import WindowedEncoder
from cerebro_serve.engine.hardware import cpu_flags
from cerebro_serve.engine.models import document_prompt, mean_pooled

log = logging.getLogger(__name__)

MIN_FIDELITY = 0.98
# The int8 exports, fastest first: (precision, file).
INT8_MODELS = (("int8", "model.int8.onnx"), ("int8-mixed", "model.int8-mixed.onnx"))
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Texts the int8 model must reproduce: titles, skill lists, resume and job prose near the window, and
# texts longer than the window (pooled from several pieces).
REFERENCE_TEXTS = [
    "Senior backend engineer",
    "intensive care registered nurse",
    "Python, Django, PostgreSQL, Kubernetes, Terraform, AWS",
    "Infirmière en soins intensifs, 8 ans d'expérience",
    "We are hiring a warehouse supervisor to plan shifts, manage a team of 20 pickers and keep stock accurate. " * 4,
    "Accountant with ten years in audit and payroll: month-end closing, IFRS reporting, tax returns, SAP. " * 5,
    "Led the migration of a monolith to event-driven services; mentored four engineers; cut costs by 30%. " * 6,
    "pastry chef " * 300,
    "Registered nurse, night shifts in cardiology. Languages: English, Spanish. Skills: triage, ECG. " * 20,
]


class OnnxEncoder(WindowedEncoder):
    def __init__(
        self, name: str, model_dir: Path, cache_dir: Path, quantize: bool = True, batch_size: int = 32
    ) -> None:
        """`quantize`: serve int8 weights where they keep fidelity (else fp32); False: always fp32."""
        if not mean_pooled(model_dir):
            raise ValueError(
                f"the ONNX backend serves mean-pooled, normalised models; {model_dir.name} is "
                "pooled otherwise: use the PyTorch backend"
            )
        self.name = name
        self.device = "cpu"
        self.batch_size = batch_size
        self.dimension = int(json.loads((model_dir / "config.json").read_text())["hidden_size"])
        self._init_window(model_dir, _max_seq_length(model_dir))
        export = exported(model_dir, cache_dir)
        self._tokenizer = _tokenizer(model_dir)
        self._prompt = document_prompt(model_dir)
        self._lock = threading.Lock()
        self._session = _session(export / "model.onnx")
        self.precision = "float32"
        self.fidelity = 1.0
        if quantize:
            self._serve_faithful_int8(export)

    def _serve_faithful_int8(self, export: Path) -> None:
        """Serve the fastest int8 export that keeps MIN_FIDELITY here (an export made before the mixed one
        existed has only the full int8); fp32 stays when none does, `fidelity` then the closest one's."""
        tried: dict[str, float] = {}
        for precision, file in INT8_MODELS:
            if not (export / file).exists():
                continue
            int8 = _session(export / file)
            tried[precision] = self._min_cosine(int8, self._session, REFERENCE_TEXTS)
            if tried[precision] >= MIN_FIDELITY:
                self._session, self.precision, self.fidelity = int8, precision, tried[precision]
                return
        self.fidelity = max(tried.values(), default=1.0)
        log.warning(
            "int8 %s drifts from fp32 on this CPU (min cosine %s < %.2f): serving fp32",
            self.name,
            ", ".join(f"{precision} {fidelity:.4f}" for precision, fidelity in tried.items()),
            MIN_FIDELITY,
        )

    def encode_pieces(self, pieces: Sequence[str]) -> np.ndarray:
        return self._encode_with(self._session, pieces)

    def _min_cosine(self, candidate: Any, reference: Any, texts: Sequence[str]) -> float:
        """The lowest cosine between two sessions' vectors of the same texts, chunked and pooled as served."""
        pieces, owners, _ = self.prepare(texts)
        got, expected = (
            self.pool(pieces, owners, self._encode_with(session, pieces), len(texts))
            for session in (candidate, reference)
        )
        return float(np.min(np.sum(got * expected, axis=1)))

    def _encode_with(self, session: Any, pieces: Sequence[str]) -> np.ndarray:
        if not pieces:
            return np.empty((0, self.dimension), dtype=np.float32)
        inputs = {item.name for item in session.get_inputs()}
        # Batches of similar lengths, so little of each batch is padding; answers in the callers' order.
        order = np.argsort([len(piece) for piece in pieces], kind="stable")
        vectors = np.empty((len(pieces), self.dimension), dtype=np.float32)
        with self._lock:
            for start in range(0, len(pieces), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self._tokenizer(
                    [self._prompt + pieces[row] for row in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.window.max_seq_length,
                    return_tensors="np",
                )
                vectors[rows] = run_pooled(session, batch, inputs)
        return vectors


def _session(model_file: Path) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    return onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def run_pooled(session: Any, batch: Any, inputs: set[str]) -> np.ndarray:
    """Token embeddings from the session, mean-pooled over the attention mask and L2-normalised."""
    ids = np.asarray(batch["input_ids"], dtype=np.int64)
    # Tokenizers of models without segments (RoBERTa-like) return no token_type_ids: all zeros.
    feed = {
        name: np.asarray(batch[name], dtype=np.int64) if name in batch else np.zeros_like(ids)
        for name in INPUTS
        if name in inputs
    }
    return mean_pool_normalize(session.run(None, feed)[0], batch["attention_mask"])


def mean_pool_normalize(tokens: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Token embeddings averaged over the attention mask, then L2-normalised (sentence-transformers'
    Pooling + Normalize)."""
    mask = np.asarray(attention_mask, dtype=np.float32)[..., None]
    pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
    return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def exported(model_dir: Path, cache_dir: Path) -> Path:
    """The folder holding model.onnx, model.int8.onnx and export.json for this model's weights (and this
    CPU's kind of int8 kernel), exporting them on first use (tens of seconds; written to a temporary
    folder, then renamed)."""
    reduce_range = not saturation_free_int8()
    target = cache_dir / f"{model_dir.name}-{_weights_digest(model_dir)}{'-7bit' if reduce_range else ''}"
    if (target / "export.json").exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = cache_dir / f".{target.name}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    _export(model_dir, staging, reduce_range)
    try:
        staging.rename(target)
    except OSError:  # another process finished first: its export is the same
        shutil.rmtree(staging, ignore_errors=True)
    return target


def saturation_free_int8() -> bool:
    """Whether this CPU multiplies u8*s8 with 32-bit accumulation (VNNI, AMX). Without it ONNX Runtime uses
    an AVX2/AVX-512BW instruction whose pairwise sums saturate at 16 bits, and its quantisation guide
    prescribes 7-bit weights (`reduce_range`)."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})


def _export(model_dir: Path, out: Path, reduce_range: bool) -> None:
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", local_files_only=True).eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    tokenizer = _tokenizer(model_dir)
    sample = tokenizer(["a sample", "a longer sample text"], padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    raw = out / "raw.onnx"
    with torch.inference_mode():
        torch.onnx.export(
            TokenEmbeddings(),
            tuple(sample[name] for name in INPUTS),
            str(raw),
            input_names=list(INPUTS),
            output_names=["token_embeddings"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*INPUTS, "token_embeddings"]},
        )
    optimize_model(str(raw), model_type="bert", num_heads=0, hidden_size=0).save_model_to_file(str(out / "model.onnx"))
    raw.unlink()
    # Only the weight MatMuls: the embedding tables (Gather) would be quantised per tensor, one scale for
    # 30k rows, and buy no speed.
    for (_, file), excluded in zip(INT8_MODELS, ([], _ffn_outputs(out / "model.onnx"))):
        quantize_dynamic(
            str(out / "model.onnx"),
            str(out / file),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=reduce_range,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=excluded,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )

    # The fp32 export must reproduce PyTorch as the torch backend loads the model (a fresh copy: the
    # traced one is not reused) on the reference texts; int8 is judged against it at each load.
    batch = tokenizer(
        REFERENCE_TEXTS, padding=True, truncation=True, max_length=_max_seq_length(model_dir), return_tensors="np"
    )
    reference_model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    with torch.inference_mode():
        tokens = reference_model(**{name: torch.as_tensor(batch[name]) for name in batch}).last_hidden_state.numpy()
    reference = mean_pool_normalize(tokens, batch["attention_mask"])
    session = _session(out / "model.onnx")
    vectors = run_pooled(session, batch, {item.name for item in session.get_inputs()})
    fp32_min_cosine = float(np.min(np.sum(vectors * reference, axis=1)))
    if fp32_min_cosine < 0.9999:
        raise RuntimeError(
            f"the ONNX export of {model_dir.name} does not reproduce PyTorch (min cosine {fp32_min_cosine:.5f})"
        )
    (out / "export.json").write_text(
        json.dumps({"fp32_min_cosine": fp32_min_cosine, "texts": len(REFERENCE_TEXTS), "reduce_range": reduce_range})
    )


def _ffn_outputs(model_file: Path) -> list[str]:
    """The MatMuls that read a GELU's output: each layer's FFN output projection."""
    import onnx

    graph = onnx.load(str(model_file), load_external_data=False).graph
    producers = {output: node.op_type for node in graph.node for output in node.output}
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and any("Gelu" in producers.get(name, "") for name in node.input)
    ]


def _max_seq_length(model_dir: Path) -> int:
    path = model_dir / "sentence_bert_config.json"
    return int(json.loads(path.read_text()).get("max_seq_length", 512)) if path.exists() else 512


def _tokenizer(model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)


def _weights_digest(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")) + [model_dir / "config.json"]:
        digest.update(path.name.encode())
        digest.update(str(path.stat().st_size).encode())
        with path.open("rb") as handle:
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]
