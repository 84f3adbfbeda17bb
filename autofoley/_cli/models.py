"""``autofoley models``: the CLIP and audio models autofoley can use, and
which of them work without a network.

A CLIP model works offline when its weights ship with autofoley (the
registry) or an open_clip pretrained tag of it is already in the Hugging
Face cache (or open_clip's own URL cache). An audio model whose weights come
from a package that is not installed says how to install it.

open_clip's catalogue (models, tags, where each tag's weights come from) is
read once per open_clip version and kept in the cache: importing open_clip
pulls in torch and costs seconds, the listing itself should not. The caches
are looked at without any network access.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from autofoley._cli.display import print_json
from autofoley._cli.flags import add_common_flags
from autofoley.atomic import write_json
from autofoley.cache import cache_root, text_digest
from autofoley.models.registry import aisfx_checkpoint

log = logging.getLogger("autofoley")

_CATALOGUE_VERSION = 1
AISFX_INSTALL = "pip install --no-deps aisfx"


def add_parsers(sub) -> None:
    m = sub.add_parser("models", help="list the CLIP and audio models autofoley can use",
                       description="List the CLIP and audio models: * marks the default CLIP "
                                   "model; 'offline' says whether it runs without a network.")
    add_common_flags(m)
    m.set_defaults(handler=cmd_models)


def cmd_models(args) -> int:
    rows = model_rows()
    if args.json:
        print_json(rows)
    else:
        print(format_rows(rows))
    return 0


def model_rows() -> list[dict]:
    """One dict per model: registry CLIP models, registry audio models, then
    every open_clip architecture.

    Every row has ``name``, ``kind`` ("clip"/"audio"), ``source``
    ("autofoley"/"open_clip"), ``default`` (the default ``--clip-model``),
    ``offline`` and ``needs`` (what to do before it runs offline, or None).
    Registry rows add ``description`` (audio: ``clip_model``); open_clip
    rows add ``pretrained`` (its tags), ``cached_pretrained`` (those whose
    weights are cached) and ``default_pretrained``.
    """
    from autofoley.models.registry import (
        DEFAULT_CLIP_MODEL,
        DEFAULT_PRETRAINED,
        models_dir,
        registry,
    )

    shipped = registry()
    root = models_dir()
    rows = []
    for name, entry in shipped.get("clip", {}).items():
        weights = entry.get("weights")
        missing = weights is not None and not (root / weights).is_file()
        rows.append({"name": name, "kind": "clip", "source": "autofoley",
                     "default": name == DEFAULT_CLIP_MODEL, "offline": not missing,
                     "needs": "reinstall autofoley (shipped weights missing)" if missing else None,
                     "description": entry.get("description", "")})
    for name, entry in shipped.get("audio", {}).items():
        needs = _audio_needs(entry, root)
        rows.append({"name": name, "kind": "audio", "source": "autofoley", "default": False,
                     "offline": needs is None, "needs": needs,
                     "clip_model": entry.get("clip_model"),
                     "description": entry.get("description", "")})
    cached = _Caches()
    for model in open_clip_catalogue():
        name = model["name"]
        if name in shipped.get("clip", {}):
            continue  # registered with open_clip by an earlier load in this process
        tags = [t["tag"] for t in model["pretrained"]]
        have = [t["tag"] for t in model["pretrained"] if cached.has(t)]
        default_tag = DEFAULT_PRETRAINED.get(name)
        if default_tag is not None:
            # Without --clip-pretrained only the default tag is loaded.
            offline = default_tag in have
        else:
            offline = bool(have)
        if offline:
            needs = None
        elif default_tag is not None:
            needs = f"network once: {default_tag} weights are downloaded on first use"
        elif tags:
            needs = "--clip-pretrained TAG (downloaded on first use) or a checkpoint file"
        else:
            needs = "--clip-pretrained with a checkpoint file (no published weights)"
        rows.append({"name": name, "kind": "clip", "source": "open_clip",
                     "default": name == DEFAULT_CLIP_MODEL, "offline": offline, "needs": needs,
                     "pretrained": tags, "cached_pretrained": have,
                     "default_pretrained": default_tag})
    return rows


def format_rows(rows: list[dict]) -> str:
    """The table a person reads: a header, ``*`` on the default model."""
    width = max([len(r["name"]) for r in rows] + [4]) + 2
    lines = [f"  {'NAME':<{width}}{'KIND':<7}{'SOURCE':<11}{'OFFLINE':<9}NOTES"]
    for r in rows:
        mark = "*" if r["default"] else " "
        lines.append(f"{mark} {r['name']:<{width}}{r['kind']:<7}{r['source']:<11}"
                     f"{'yes' if r['offline'] else 'no':<9}{_notes(r)}")
    clip = [r for r in rows if r["kind"] == "clip"]
    for r in rows:
        if r["default"]:
            weights = f" with {r['default_pretrained']}" if r.get("default_pretrained") else ""
            lines.append(f"* {r['name']}{weights} is the default --clip-model.")
    lines.append(f"{sum(r['offline'] for r in clip)} of {len(clip)} CLIP models run offline "
                 "(shipped, or weights in the Hugging Face cache).")
    return "\n".join(lines)


def _notes(r: dict) -> str:
    if r["source"] == "autofoley":
        text = " ".join(r.get("description", "").split())
        if len(text) > 72:
            text = text[:71].rstrip() + "…"
        return f"needs: {r['needs']}; {text}" if r["needs"] else text
    tags = r["pretrained"]
    if not tags:
        return "no published weights"
    shown = [f"{t} (cached)" if t in r["cached_pretrained"] else t for t in tags]
    if r["default_pretrained"] in tags:
        i = tags.index(r["default_pretrained"])
        shown.insert(0, shown.pop(i) + " default")
    text = ", ".join(shown[:4]) + (f" +{len(tags) - 4} more" if len(tags) > 4 else "")
    return f"pretrained: {text}"


def _audio_needs(entry: dict, root: Path) -> str | None:
    """What an audio registry entry lacks to run, or None."""
    backbone = entry.get("backbone_weights")
    if backbone == "aisfx-package":
        if aisfx_checkpoint() is None:
            return AISFX_INSTALL
    elif backbone and not (root / backbone).is_file():
        return "reinstall autofoley (shipped weights missing)"
    weights = entry.get("weights")
    if weights and not (root / weights).is_file():
        return "reinstall autofoley (shipped weights missing)"
    return None


# --------------------------------------------------------------------------- open_clip


def open_clip_catalogue() -> list[dict]:
    """[{name, pretrained: [{tag, repo, files, url}]}] for every open_clip
    architecture: from the cache when this open_clip version was seen before,
    else read from open_clip (and kept)."""
    version = _open_clip_version()
    path = cache_root() / "models" / f"open_clip-{version}.json" if version else None
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == _CATALOGUE_VERSION:
                return data["models"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass  # absent or damaged: read open_clip again
    models = _read_open_clip()
    if path is not None:
        try:
            write_json(path, {"version": _CATALOGUE_VERSION, "open_clip": version,
                              "models": models})
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be written only costs time
            log.debug("open_clip catalogue not cached: %s", exc)
    return models


def _open_clip_version() -> str | None:
    from importlib import metadata

    try:
        dist = metadata.distribution("open_clip_torch")
    except metadata.PackageNotFoundError:
        return None
    # An editable or reinstalled open_clip of the same version lives elsewhere:
    # its location is part of the key.
    where = str(dist.locate_file(""))
    return f"{dist.version}-{text_digest(where)[:8]}"


def _read_open_clip() -> list[dict]:
    import open_clip
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    from autofoley.models.registry import registry

    shipped = registry().get("clip", {})
    models = []
    for name in open_clip.list_models():
        if name in shipped:
            continue  # our own, registered with open_clip when one was loaded
        tags = []
        for tag in open_clip.list_pretrained_tags_by_model(name):
            cfg = open_clip.get_pretrained_cfg(name, tag) or {}
            hub = cfg.get("hf_hub", "")
            repo, files = None, []
            if hub:
                # open_clip's rule: 'org/repo/' means its default file, and a
                # .safetensors twin of a .bin/.pth is preferred when present.
                repo, filename = os.path.split(hub)
                if not filename or filename == HF_WEIGHTS_NAME:
                    files = [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME]
                elif filename.endswith((".bin", ".pth")):
                    files = [filename[:-4] + ".safetensors", filename]
                else:
                    files = [filename]
            tags.append({"tag": tag, "repo": repo, "files": files,
                         "url": None if hub else (cfg.get("url") or None)})
        models.append({"name": name, "pretrained": tags})
    return models


class _Caches:
    """Whether a tag's weights are on this machine: the Hugging Face cache,
    else open_clip's URL downloads (``~/.cache/clip``). Never the network."""

    url_dir = Path("~/.cache/clip")  # open_clip's download_pretrained_from_url default

    def __init__(self):
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            try_to_load_from_cache = None
        self._lookup = try_to_load_from_cache

    def has(self, tag: dict) -> bool:
        if tag.get("repo") and self._lookup is not None:
            for filename in tag["files"]:
                try:
                    if isinstance(self._lookup(tag["repo"], filename), str):
                        return True
                except Exception:  # noqa: BLE001 - a malformed id is simply not cached
                    continue
            return False
        url = tag.get("url")
        return bool(url) and (self.url_dir.expanduser() / os.path.basename(url)).is_file()
