"""Resolve a CLIP model name and weights to something open_clip can build.

Three sources, in order:
1. the project's own registry (``models/registry.json``, installed as
   ``autofoley.shipped_models``): small configs with shipped safetensors
   weights (checked against their sha256) or seeded random weights for tests;
   plus the user's own audio encoders (``autofoley train --register NAME``),
   kept in ``registry.json`` of the user config folder;
2. a path to an open_clip model config JSON (``--clip-model my_model.json``);
3. any open_clip model name (``ViT-B-32``), with an open_clip pretrained tag
   (downloaded once into the Hugging Face cache) or a local checkpoint file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from autofoley.errors import ModelError

DEFAULT_CLIP_MODEL = "ViT-B-32"
# The laion2b weights are the strongest ViT-B-32 open_clip ships and need no
# QuickGELU override (the ``openai`` tag does).
DEFAULT_PRETRAINED = {"ViT-B-32": "laion2b_s34b_b79k"}
RANDOM_WEIGHTS = "none"


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to build one CLIP model, and its cache identity."""

    name: str  # open_clip model name (registered config or built in)
    pretrained: str | None  # open_clip tag, checkpoint path, or None (random)
    seed: int  # used only for random weights, so they are reproducible
    identity: str  # stable string for embedding caches
    source: str  # "registry", "config", or "open_clip"
    config_path: Path | None = None
    sha256: str | None = None
    defaults: dict | None = None  # tuned scoring settings shipped with the model


def models_dir() -> Path:
    """The folder of shipped model configs, cards and weights."""
    return Path(str(resources.files("autofoley.shipped_models")))


def registry() -> dict:
    """The parsed ``models/registry.json``, with the user's registered audio
    encoders added (a shipped name wins: a user entry cannot shadow it)."""
    with open(models_dir() / "registry.json", encoding="utf-8") as f:
        shipped = json.load(f)
    audio = dict(shipped.get("audio", {}))
    audio.update((k, v) for k, v in user_registry().get("audio", {}).items() if k not in audio)
    shipped["audio"] = audio
    return shipped


def user_registry_path() -> Path:
    """``registry.json`` in the user config folder (``$AUTOFOLEY_CONFIG``)."""
    from autofoley.cache import user_dir

    return user_dir("config", "AUTOFOLEY_CONFIG") / "registry.json"


def user_registry() -> dict:
    """The user's registry ({"audio": {name: entry}}); empty when there is none.
    A damaged file is an error naming it, not silently an empty registry."""
    path = user_registry_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"user model registry unreadable ({exc})", path,
                         "fix or delete the file") from None
    if not isinstance(data, dict) or not isinstance(data.get("audio", {}), dict):
        raise ModelError("user model registry is not {\"audio\": {...}}", path,
                         "fix or delete the file")
    return data


def check_registration(name: str, overwrite: bool = False) -> dict:
    """Refuse ``name`` for ``register_audio_model`` (ModelError) before any
    work: not a usable name, a shipped model's, or (unless ``overwrite``) a
    registered one. Returns the user's audio entries."""
    if not name or any(c in name for c in "/\\:") or name.endswith(".safetensors"):
        raise ModelError(f"'{name}' is not a usable model name", None,
                         "use letters, digits, '-', '_' and '.'")
    with open(models_dir() / "registry.json", encoding="utf-8") as f:
        if name in json.load(f).get("audio", {}):
            raise ModelError(f"'{name}' is a model shipped with autofoley", None,
                             "register under another name")
    audio = dict(user_registry().get("audio", {}))
    if name in audio and not overwrite:
        raise ModelError(f"'{name}' is already registered", user_registry_path(),
                         "pass --overwrite to replace it, or choose another name")
    return audio


def register_audio_model(name: str, checkpoint: str | Path, description: str = "",
                         overwrite: bool = False) -> Path:
    """Copy a trained audio encoder checkpoint into the user's data folder
    and add it to the user registry as ``name`` (``--audio-model NAME``).
    Returns the copy's path. ModelError when ``name`` is taken (a shipped
    name always; a user's own unless ``overwrite``)."""
    import shutil

    from autofoley.atomic import atomic_path, ensure_dir, write_json
    from autofoley.cache import user_dir

    audio = check_registration(name, overwrite)
    src = Path(checkpoint)
    meta = _audio_checkpoint_metadata(src)
    data = user_registry()
    folder = ensure_dir(user_dir("data", "AUTOFOLEY_DATA") / "models")
    dest = folder / f"{name}.safetensors"
    with atomic_path(dest, suffix=".safetensors") as tmp:
        shutil.copyfile(src, tmp)
    config = json.loads(meta["config"])
    audio[name] = {"backbone": config.get("backbone", meta.get("backbone")),
                   "weights": str(dest), "sha256": file_sha256(dest),
                   "clip_model": meta.get("clip_model") or None,
                   "description": description or f"registered from {src}"}
    write_json(user_registry_path(), {**data, "audio": audio})
    return dest


def available_clip_models() -> list[str]:
    """Registry names first, then every open_clip architecture."""
    import open_clip

    return sorted(registry().get("clip", {})) + open_clip.list_models()


def available_models() -> dict[str, list[str]]:
    """What ``clip_model`` and ``audio_model`` accept: {"clip": [...], "audio": [...]}."""
    return {"clip": available_clip_models(), "audio": available_audio_models()}


def resolve_clip(model: str = DEFAULT_CLIP_MODEL, pretrained: str | None = None) -> ClipSpec:
    """Turn ``--clip-model`` / ``--clip-pretrained`` into a ClipSpec.

    ``pretrained`` may be an open_clip tag, a local checkpoint path
    (.safetensors, or a .pt/.bin loaded with ``weights_only=True``), or
    ``"none"`` for random weights (benchmarks only).
    """
    import open_clip

    entries = registry().get("clip", {})
    if model in entries:
        return _registry_spec(model, entries[model], pretrained)

    if model.endswith(".json"):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelError("model config not found", path, "pass an open_clip model config JSON")
        try:
            cfg = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"model config is not valid JSON ({exc})", path, "fix the file") from None
        if not all(k in cfg for k in ("embed_dim", "vision_cfg", "text_cfg")):
            raise ModelError("not an open_clip model config (needs embed_dim, vision_cfg, text_cfg)",
                             path, "pass an open_clip model config JSON")
        open_clip.add_model_config(path)
        weights = _weights_arg(path.stem, pretrained, required=True)
        return ClipSpec(path.stem, weights, 0, _identity(path.stem, weights, cfg), "config", path)

    if model not in open_clip.list_models():
        raise ModelError(f"unknown CLIP model '{model}'", None,
                         "run 'autofoley models' for the list, or pass a model config .json")
    weights = _weights_arg(model, pretrained if pretrained else DEFAULT_PRETRAINED.get(model),
                           required=True)
    return ClipSpec(model, weights, 0, _identity(model, weights, None), "open_clip")


def _registry_spec(name: str, entry: dict, pretrained: str | None) -> ClipSpec:
    import open_clip

    config = models_dir() / entry["config"]
    open_clip.add_model_config(config)
    cfg = json.loads(config.read_text(encoding="utf-8"))
    if pretrained:  # a user's own checkpoint for a shipped architecture
        weights = _weights_arg(name, pretrained, required=True)
        return ClipSpec(name, weights, 0, _identity(name, weights, cfg), "registry", config)
    weights = entry.get("weights")
    if weights is None:
        seed = int(entry.get("seed", 0))
        return ClipSpec(name, None, seed, _identity(name, f"seed{seed}", cfg), "registry", config,
                        defaults=entry.get("defaults"))
    path, sha = _shipped_weights(weights, entry.get("sha256"))
    return ClipSpec(name, str(path), 0, _identity(name, sha or str(path), cfg), "registry", config,
                    sha, defaults=entry.get("defaults"))


def _shipped_weights(rel: str, sha: str | None) -> tuple[Path, str | None]:
    """A registry entry's weights file under models/, checked against its sha256."""
    path = models_dir() / rel
    if not path.is_file():
        raise ModelError("shipped weights are missing", path, "reinstall autofoley")
    if sha and file_sha256(path) != sha:
        raise ModelError("shipped weights do not match their sha256", path,
                         "reinstall autofoley; the file is corrupt")
    return path, sha


def _weights_arg(model: str, pretrained: str | None, required: bool) -> str | None:
    import open_clip

    if pretrained is None or pretrained.lower() == RANDOM_WEIGHTS:
        if pretrained is None and required:
            tags = open_clip.list_pretrained_tags_by_model(model)
            raise ModelError(f"no weights given for '{model}'", None,
                             f"pass --clip-pretrained with a tag ({', '.join(tags) or 'none known'}) "
                             "or a checkpoint file, or 'none' for random weights")
        return None
    path = Path(pretrained).expanduser()
    if path.suffix in (".safetensors", ".pt", ".pth", ".bin", ".ckpt") or path.exists():
        if not path.is_file():
            raise ModelError("checkpoint not found", path, "check the --clip-pretrained path")
        return str(path.resolve())
    if not open_clip.get_pretrained_cfg(model, pretrained):
        tags = open_clip.list_pretrained_tags_by_model(model)
        raise ModelError(f"'{pretrained}' is neither a pretrained tag of {model} nor a file", None,
                         f"known tags: {', '.join(tags) or 'none'}")
    return pretrained


def _identity(name: str, weights: str | None, cfg: dict | None) -> str:
    """A cache identity: name + weights (tag, file digest) + config digest."""
    parts = [name, str(weights)]
    if weights and Path(weights).is_file():
        st = Path(weights).stat()
        parts[1] = f"{Path(weights).name}:{st.st_size}:{st.st_mtime_ns}"
    if cfg is not None:
        parts.append(hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:12])
    return "|".join(parts)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- audio encoders

@dataclass(frozen=True)
class AudioSpec:
    """Everything needed to build one audio encoder (see ``audio_encoder``)."""

    name: str
    backbone: str  # "cnn14" or "aisfx"
    config: dict  # the audio model config (models/configs/audio-*.json)
    source: str  # "registry", "checkpoint" (our .safetensors) or "pretrained"
    weights: str | None = None  # a whole-model .safetensors checkpoint
    backbone_weights: str | None = None  # a published backbone checkpoint (.pth)
    seed: int = 0  # draws every weight a checkpoint does not give
    sha256: str | None = None  # of ``weights``, when known and checked
    clip_identity: str | None = None  # the CLIP it was trained for; None: untrained
    config_path: Path | None = None


def available_audio_models() -> list[str]:
    """Registry names of the audio encoders, then the other accepted forms."""
    return sorted(registry().get("audio", {})) + ["cnn14:/path/Cnn14_mAP=0.431.pth",
                                                  "aisfx:/path/checkpoint.pth", "/path/model.safetensors"]


def resolve_audio(name_or_path: str) -> AudioSpec:
    """Turn ``--audio-model`` into an AudioSpec.

    Accepted: a registry name (``models/registry.json`` "audio" section); a
    ``.safetensors`` checkpoint written by ``audio_encoder.save_audio_encoder``;
    ``cnn14:/path/Cnn14_mAP=0.431.pth`` (the published PANNs weights) or
    ``aisfx:/path/checkpoint.pth``: a pretrained backbone under a projection
    drawn from seed 0, trained for no CLIP model yet.
    """
    entries = registry().get("audio", {})
    if name_or_path in entries:
        return _audio_registry_spec(name_or_path, entries[name_or_path])
    backbone, sep, rest = name_or_path.partition(":")
    if sep and backbone in ("cnn14", "aisfx") and rest:
        path = Path(rest).expanduser()
        if not path.is_file():
            raise ModelError(f"{backbone} checkpoint not found", path, "check the path")
        config, config_path = _audio_config(f"configs/audio-{backbone}.json")
        return AudioSpec(f"{backbone}-pretrained", backbone, config, "pretrained",
                         backbone_weights=str(path.resolve()), config_path=config_path)
    path = Path(name_or_path).expanduser()
    if path.suffix == ".safetensors" or path.is_file():
        return _audio_checkpoint_spec(path)
    raise ModelError(f"unknown audio model '{name_or_path}'", None,
                     f"use one of {', '.join(available_audio_models())}")


def _audio_config(rel: str) -> tuple[dict, Path]:
    path = models_dir() / rel
    try:
        return json.loads(path.read_text(encoding="utf-8")), path
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"audio model config unreadable ({exc})", path, "reinstall autofoley") from None


def aisfx_checkpoint() -> Path | None:
    """``aisfx/models/checkpoint.pth`` of an installed aisfx wheel, found
    without importing the package (its import pulls in librosa) or torch."""
    import importlib.util

    spec = importlib.util.find_spec("aisfx")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "models" / "checkpoint.pth"
        if path.is_file():
            return path
    return None


def resolve_backbone_weights(ref: str, who: str = "this audio model") -> str:
    """A backbone checkpoint reference: ``aisfx-package`` (the installed aisfx
    wheel's weights), a path relative to models/, or an absolute path."""
    if ref == "aisfx-package":
        found = aisfx_checkpoint()
        if found is None:
            raise ModelError(f"{who} needs the aisfx package's pretrained weights", None,
                             "pip install --no-deps aisfx")
        return str(found)
    path = models_dir() / ref
    if not path.is_file():
        raise ModelError("backbone checkpoint not found", path, "check the path, or reinstall")
    return str(path)


def _head_backbone(meta: dict, path: Path) -> str | None:
    """The backbone a head-only checkpoint (``save_audio_encoder(...,
    backbone_weights=...)``) was trained on, checked by its sha256; None for
    a whole-model checkpoint."""
    ref = meta.get("backbone_weights")
    if not ref:
        return None
    resolved = resolve_backbone_weights(ref, f"audio encoder {path.name}")
    if meta.get("backbone_sha256") and file_sha256(resolved) != meta["backbone_sha256"]:
        raise ModelError("the backbone checkpoint differs from the one this projection was "
                         f"trained on ({resolved})", path,
                         "install the backbone weights it was trained with, or train again")
    return resolved


def needs_missing_aisfx(name: str) -> bool:
    """Whether the registry's audio model ``name`` reads its backbone from the
    aisfx wheel and the wheel is not installed (``--rank auto`` then falls
    back to text instead of failing)."""
    entry = registry().get("audio", {}).get(name)
    if entry is None or aisfx_checkpoint() is not None:
        return False
    if entry.get("backbone_weights") == "aisfx-package":
        return True
    if entry.get("weights"):
        try:
            meta = _audio_checkpoint_metadata(models_dir() / entry["weights"])
        except ModelError:
            return False  # loading it will say what is wrong
        return meta.get("backbone_weights") == "aisfx-package"
    return False


def _audio_registry_spec(name: str, entry: dict) -> AudioSpec:
    weights = entry.get("weights")
    if weights is not None:
        path, sha = _shipped_weights(weights, entry.get("sha256"))
        meta = _audio_checkpoint_metadata(path)
        config = json.loads(meta["config"])
        clip_identity = meta.get("clip_identity") or None
        if clip_identity is None and entry.get("projection_trained", True) and entry.get("clip_model"):
            clip_identity = resolve_clip(entry["clip_model"], entry.get("clip_pretrained")).identity
        return AudioSpec(name, entry.get("backbone", config["backbone"]), config, "registry",
                         str(path), _head_backbone(meta, path), 0, sha, clip_identity)
    config, config_path = _audio_config(entry["config"])
    backbone = entry.get("backbone", config["backbone"])
    clip_identity = None
    if entry.get("projection_trained", True) and entry.get("clip_model"):
        clip_identity = resolve_clip(entry["clip_model"], entry.get("clip_pretrained")).identity
    backbone_weights = entry.get("backbone_weights")
    if backbone_weights:
        backbone_weights = resolve_backbone_weights(backbone_weights, f"'{name}'")
    return AudioSpec(name, backbone, config, "registry", None, backbone_weights,
                     int(entry.get("seed", 0)), None, clip_identity, config_path)


def _audio_checkpoint_metadata(path: Path) -> dict:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"not a readable .safetensors file ({exc})", path,
                         "pass a checkpoint written by autofoley") from None
    if meta.get("format") != "autofoley-audio-encoder" or "config" not in meta:
        raise ModelError("not an autofoley audio encoder checkpoint (no config in its metadata)",
                         path, "save it with autofoley.models.audio.save_audio_encoder")
    return meta


def _audio_checkpoint_spec(path: Path) -> AudioSpec:
    if not path.is_file():
        raise ModelError("audio encoder checkpoint not found", path, "check the path")
    meta = _audio_checkpoint_metadata(path)
    try:
        config = json.loads(meta["config"])
    except json.JSONDecodeError:
        raise ModelError("checkpoint metadata holds no valid config", path,
                         "re-save it with save_audio_encoder") from None
    return AudioSpec(path.stem, config.get("backbone", meta.get("backbone", "")), config,
                     "checkpoint", str(path.resolve()), _head_backbone(meta, path),
                     clip_identity=meta.get("clip_identity") or None)
