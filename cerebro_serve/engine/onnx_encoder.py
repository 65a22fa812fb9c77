"""ONNX Runtime backend for mean-pooled sentence-transformers models (the BERT family) on CPU.

The model is exported once from its local directory (PyTorch, eager attention so ONNX Runtime can fuse
it), optimised for BERT, and quantised to int8 weights; the int8 model serves only if its vectors stay
within MIN_FIDELITY cosine of the fp32 model's on reference texts, else the fp32 export serves. Exports
live in a cache folder keyed by the weights' digest, so a restart loads in a fraction of a second without
importing PyTorch.
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

import numpy as np

from cerebro_serve.engine.encoder import WindowedEncoder, mean_pooled

log = logging.getLogger(__name__)

MIN_FIDELITY = 0.98
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Texts the int8 model must reproduce: titles, skill lists, and resume and job prose near the window.
REFERENCE_TEXTS = [
    "Senior backend engineer",
    "intensive care registered nurse",
    "Python, Django, PostgreSQL, Kubernetes, Terraform, AWS",
    "Infirmière en soins intensifs, 8 ans d'expérience",
    "We are hiring a warehouse supervisor to plan shifts, manage a team of 20 pickers and keep stock accurate. "
    * 4,
    "Accountant with ten years in audit and payroll: month-end closing, IFRS reporting, tax returns, SAP. " * 5,
    "Led the migration of a monolith to event-driven services; mentored four engineers; cut costs by 30%. " * 6,
]


class OnnxEncoder(WindowedEncoder):
    def __init__(
        self, name: str, model_dir: Path, cache_dir: Path, quantize: bool = True, batch_size: int = 32
    ) -> None:
        """`quantize`: serve int8 weights where they keep fidelity (else fp32); False: always fp32."""
        import onnxruntime

        if not mean_pooled(model_dir):
            raise ValueError(f"the ONNX backend serves mean-pooled, normalised models; {model_dir.name} is "
                             "pooled otherwise: use the PyTorch backend")
        self.name = name
        self.device = "cpu"
        self.batch_size = batch_size
        self.dimension = int(json.loads((model_dir / "config.json").read_text())["hidden_size"])
        self._init_window(model_dir, _max_seq_length(model_dir))
        export = exported(model_dir, cache_dir)
        report = json.loads((export / "fidelity.json").read_text())
        use_int8 = quantize and report["min_cosine"] >= MIN_FIDELITY
        if quantize and not use_int8:
            log.warning("int8 %s drifts from fp32 (min cosine %.4f < %.2f): serving fp32", name,
                        report["min_cosine"], MIN_FIDELITY)
        self.precision = "int8" if use_int8 else "float32"
        self.fidelity = float(report["min_cosine"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        model_file = export / ("model.int8.onnx" if use_int8 else "model.onnx")
        self._session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {item.name for item in self._session.get_inputs()}
        self._tokenizer = _tokenizer(model_dir)
        self._lock = threading.Lock()

    def encode_pieces(self, pieces: Sequence[str]) -> np.ndarray:
        if not pieces:
            return np.empty((0, self.dimension), dtype=np.float32)
        # Batches of similar lengths, so little of each batch is padding; answers in the callers' order.
        order = np.argsort([len(piece) for piece in pieces], kind="stable")
        vectors = np.empty((len(pieces), self.dimension), dtype=np.float32)
        with self._lock:
            for start in range(0, len(pieces), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self._tokenizer([pieces[row] for row in rows], padding=True, truncation=True,
                                        max_length=self.window_tokens + 2, return_tensors="np")
                vectors[rows] = run_pooled(self._session, batch, self._inputs)
        return vectors


def run_pooled(session, batch, inputs: set[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Token embeddings from the session, mean-pooled over the attention mask and L2-normalised."""
    ids = np.asarray(batch["input_ids"], dtype=np.int64)
    # Tokenizers of models without segments (RoBERTa-like) return no token_type_ids: all zeros.
    feed = {name: np.asarray(batch[name], dtype=np.int64) if name in batch else np.zeros_like(ids)
            for name in INPUTS if name in inputs}
    return mean_pool_normalize(session.run(None, feed)[0], batch["attention_mask"])


def mean_pool_normalize(tokens: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Token embeddings averaged over the attention mask, then L2-normalised (sentence-transformers'
    Pooling + Normalize)."""
    mask = np.asarray(attention_mask, dtype=np.float32)[..., None]
    pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
    return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def exported(model_dir: Path, cache_dir: Path) -> Path:
    """The folder holding model.onnx, model.int8.onnx and fidelity.json for this model's weights,
    exporting them on first use (tens of seconds; written to a temporary folder, then renamed)."""
    target = cache_dir / f"{model_dir.name}-{_weights_digest(model_dir)}"
    if (target / "fidelity.json").exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = cache_dir / f".{target.name}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    _export(model_dir, staging)
    try:
        staging.rename(target)
    except OSError:  # another process finished first: its export is the same
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _export(model_dir: Path, out: Path) -> None:
    import onnx
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", local_files_only=True).eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    tokenizer = _tokenizer(model_dir)
    sample = tokenizer(["a sample", "a longer sample text"], padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    raw = out / "raw.onnx"
    with torch.inference_mode():
        torch.onnx.export(
            TokenEmbeddings(), tuple(sample[name] for name in INPUTS), str(raw), input_names=list(INPUTS),
            output_names=["token_embeddings"], opset_version=17, dynamo=False,
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*INPUTS, "token_embeddings"]},
        )
    optimize_model(str(raw), model_type="bert", num_heads=0, hidden_size=0).save_model_to_file(str(out / "model.onnx"))
    raw.unlink()
    quantize_dynamic(str(out / "model.onnx"), str(out / "model.int8.onnx"), weight_type=QuantType.QInt8,
                     per_channel=True, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})

    # Fidelity: the fp32 export against PyTorch as the torch backend loads the model (a fresh copy: the
    # traced one is not reused), and int8 against that, on the reference texts.
    batch = tokenizer(REFERENCE_TEXTS, padding=True, truncation=True, max_length=_max_seq_length(model_dir),
                      return_tensors="np")
    reference_model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    with torch.inference_mode():
        tokens = reference_model(**{name: torch.as_tensor(batch[name]) for name in batch}).last_hidden_state.numpy()
    reference = mean_pool_normalize(tokens, batch["attention_mask"])
    cosines = {}
    for variant in ("model.onnx", "model.int8.onnx"):
        session = onnxruntime.InferenceSession(str(out / variant), providers=["CPUExecutionProvider"])
        vectors = run_pooled(session, batch, {item.name for item in session.get_inputs()})
        cosines[variant] = float(np.min(np.sum(vectors * reference, axis=1)))
    if cosines["model.onnx"] < 0.9999:
        raise RuntimeError(f"the ONNX export of {model_dir.name} does not reproduce PyTorch "
                           f"(min cosine {cosines['model.onnx']:.5f})")
    (out / "fidelity.json").write_text(json.dumps({"min_cosine": cosines["model.int8.onnx"],
                                                   "fp32_min_cosine": cosines["model.onnx"],
                                                   "texts": len(REFERENCE_TEXTS)}))


def _max_seq_length(model_dir: Path) -> int:
    path = model_dir / "sentence_bert_config.json"
    return int(json.loads(path.read_text()).get("max_seq_length", 512)) if path.exists() else 512


def _tokenizer(model_dir: Path):  # type: ignore[no-untyped-def]
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
