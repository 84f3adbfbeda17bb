"""How long loading a CLIP checkpoint takes, with and without the random
initialisation that the checkpoint then overwrites.

    python bench/bench_load.py                          # ViT-B-32, 5 rounds
    python bench/bench_load.py --clip-model ViT-L-14 --rounds 3
    python bench/bench_load.py --checkpoint open_clip_model.safetensors

``load_clip`` builds the model without running ``torch.nn.init`` when weights
will be loaded (models/clip.py, ``_no_weight_init``); the other side is
``open_clip.create_model`` with the same checkpoint, which initialises every
weight first. ``load_clip`` also resolves the model and builds its tokenizer
(a tenth of a second), so the ratio understates what the skipped initialisation
saves. The two alternate (A B A B) in one process after a warm-up load
of each, so both read the file from the page cache. Without ``--checkpoint``
the model's own random weights are saved to a temporary .safetensors first
(the time to load does not depend on the values). Prints each side's median,
the ratio and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip-model", default="ViT-B-32")
    parser.add_argument("--checkpoint", default=None, help="a .safetensors of the model (default: "
                        "its random weights, saved to a temporary file)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    import open_clip
    import torch
    from bench_speed import random_weights

    from autofoley.models.clip import load_clip
    from autofoley.models.registry import resolve_clip

    spec = resolve_clip(args.clip_model, None)
    if spec.config_path is not None:
        open_clip.add_model_config(spec.config_path)
    torch.set_grad_enabled(False)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.checkpoint or str(random_weights(args.clip_model, Path(tmp)))
        sides = {
            "load_clip (no initialisation)": lambda: load_clip(args.clip_model, ckpt, "cpu"),
            "open_clip.create_model (initialised, then loaded)":
                lambda: open_clip.create_model(spec.name, pretrained=ckpt),
        }
        for load in sides.values():  # warm-up: imports, page cache
            load()
        before = os.getloadavg()
        times: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name, load in sides.items():
                start = time.perf_counter()
                load()
                times[name].append(time.perf_counter() - start)
        after = os.getloadavg()
    print(f"{args.clip_model}, {args.rounds} alternated rounds, {os.cpu_count()} CPUs, torch "
          f"{torch.__version__}, load average {before[0]:.2f} -> {after[0]:.2f}")
    medians = {}
    for name, values in times.items():
        medians[name] = statistics.median(values)
        print(f"  {name:52s} median {medians[name]:6.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    a, b = medians.values()
    print(f"  ratio (initialised / not): {b / a:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
