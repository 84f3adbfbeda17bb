#!/usr/bin/env python3
"""Train the lab world's CLIP model (``autofoley-lab``) from scratch and write it to examples/lab/model/.

    python examples/train_lab_clip.py                          # the shipped model
    python examples/train_lab_clip.py --train 2000 --epochs 1 --no-ship   # a smoke run

The model is the open_clip config ``examples/lab/model/autofoley-lab.json``
(an 80 px convolutional image tower, the ModifiedResNet of CLIP's RN50 cut
down to one bottleneck per stage and a stem width of 16, with an attention
pool; a 2-layer text tower with 4 heads; 96-d embeddings), another
architecture than ``autofoley-demo`` (a 96 px ViT with 12 px patches and a
3-layer 2-head text tower, 64-d embeddings). A ViT of the same cost (80 px,
10 px patches, 4 layers of width 96) reached only 54% zero-shot accuracy on
things in the same 20 minutes: the convolutions' bias towards small local
shapes pays on this little data. It trains within 25 minutes on 2 CPU cores
shared with a test suite. It trains in one thread (``--threads 1``): on
a busy machine a second OpenMP thread mostly waits for the first (a step was
measured 3-4x slower with two threads while a test suite ran). It is
trained with open_clip's symmetric contrastive loss (``ClipLoss``) on
pictures of the lab world (``examples/lab_world/pictures.py``) and their
captions: one thing, two things side by side, or an empty place, in words
and as keyword lists. Pictures are made as autofoley shows film frames to
the model with ``--frame-fit pad``: drawn at twice the size, scaled down,
most of them 16:9 letterboxed into the square input.

Zero-shot accuracy is measured on held-out pictures drawn from another
seed: a single-thing picture is right when the prompt "a photo of a <thing>"
of its thing is the closest of the 14; an empty place when "a photo of a
<place>" of its place is the closest of the 5; a two-thing picture when its
two things are the closest two.

``--ship`` (the default) writes ``autofoley-lab.safetensors`` (fp16) and the
model card ``README.md`` beside the config; ``--out DIR/NAME.safetensors``
writes another lab-world model there instead, its config beside it as
``NAME.json`` (a second model to measure placement on). Nothing in ``models/`` is touched:
autofoley takes the model as a config path and a checkpoint,

    autofoley score FILM --clip-model examples/lab/model/autofoley-lab.json \\
        --clip-pretrained examples/lab/model/autofoley-lab.safetensors --frame-fit pad ...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lab_world import pictures  # noqa: E402
from lab_world.catalog import LOCALES, THINGS  # noqa: E402

MODEL = "autofoley-lab"
MODEL_DIR = HERE / "lab" / "model"
CONFIG = MODEL_DIR / f"{MODEL}.json"
SIZE = int(json.loads(CONFIG.read_text())["vision_cfg"]["image_size"])
WIDE = (SIZE, round(SIZE * 9 / 16))  # a 16:9 frame letterboxed into the square input
CHUNK = 500


def _render(job: tuple[int, int, int, float]) -> tuple[np.ndarray, list[str], list[dict]]:
    """Pictures [lo, hi) of stream ``seed``: uint8 (n, SIZE, SIZE, 3), captions, labels."""
    from PIL import Image

    seed, lo, hi, wide_share = job
    images = np.zeros((hi - lo, SIZE, SIZE, 3), np.uint8)
    captions, labels = [], []
    for k, index in enumerate(range(lo, hi)):
        rng = np.random.default_rng([seed, 11, index])
        w, h = WIDE if rng.random() < wide_share else (SIZE, SIZE)
        image, caption, label = pictures.random_picture(rng, 2 * w, 2 * h)
        a = np.asarray(image.resize((w, h), Image.BICUBIC).convert("RGB"))
        top = (SIZE - h) // 2  # as ffmpeg's pad=(ow-iw)/2:(oh-ih)/2 centres it
        images[k, top:top + h] = a
        captions.append(caption)
        labels.append({"place": label["place"], "things": label["things"]})
    return images, captions, labels


def render_set(n: int, seed: int, wide_share: float, workers: int):
    jobs = [(seed, lo, min(n, lo + CHUNK), wide_share) for lo in range(0, n, CHUNK)]
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_render, jobs)
    else:
        parts = [_render(j) for j in jobs]
    return (np.concatenate([p[0] for p in parts]), [c for p in parts for c in p[1]],
            [l for p in parts for l in p[2]])


def _pixels(images: np.ndarray, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    return (x - mean) / std


@torch.no_grad()
def zero_shot(model, tokenizer, images, labels, mean, std) -> dict:
    """Accuracy on single things (14 classes), empty places (5) and pairs (both in the top 2)."""
    was_training = model.training
    model.eval()
    things = [t.name for t in THINGS]
    places = [p.name for p in LOCALES]
    t_things = model.encode_text(tokenizer([pictures.prompt(n) for n in things]), normalize=True)
    t_places = model.encode_text(tokenizer([pictures.prompt(n) for n in places]), normalize=True)
    feats = torch.cat([model.encode_image(_pixels(images[i:i + 512], mean, std), normalize=True)
                       for i in range(0, len(images), 512)])
    single = [i for i, l in enumerate(labels) if len(l["things"]) == 1]
    empty = [i for i, l in enumerate(labels) if not l["things"]]
    pairs = [i for i, l in enumerate(labels) if len(l["things"]) == 2]
    sims = feats @ t_things.T
    right_single = [things[int(sims[i].argmax())] == labels[i]["things"][0] for i in single]
    right_place = [places[int((feats[i] @ t_places.T).argmax())] == labels[i]["place"] for i in empty]
    right_pair = [{things[int(j)] for j in sims[i].topk(2).indices} == set(labels[i]["things"]) for i in pairs]
    per_class = {n: float(np.mean([r for r, i in zip(right_single, single) if labels[i]["things"][0] == n] or [0]))
                 for n in things}
    if was_training:
        model.train()
    return {"thing_accuracy": float(np.mean(right_single)), "place_accuracy": float(np.mean(right_place)),
            "pair_accuracy": float(np.mean(right_pair)), "thing_pictures": len(single),
            "place_pictures": len(empty), "pair_pictures": len(pairs), "per_class": per_class}


def train(args) -> dict:
    import open_clip

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    open_clip.add_model_config(CONFIG)
    model = open_clip.create_model(MODEL, pretrained=None)
    tokenizer = open_clip.get_tokenizer(MODEL)
    cfg = open_clip.get_model_preprocess_cfg(model)
    mean = torch.tensor(cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(cfg["std"]).view(1, 3, 1, 1)
    params = sum(p.numel() for p in model.parameters())

    t0 = time.time()
    images, captions, _ = render_set(args.train, args.seed, args.wide_share, args.workers)
    val_images, _, val_labels = render_set(args.val, args.seed + 1000, args.wide_share, args.workers)
    render_seconds = time.time() - t0
    print(f"{params / 1e6:.2f} M parameters; rendered {len(images)} + {len(val_images)} pictures "
          f"in {render_seconds:.0f} s", file=sys.stderr, flush=True)
    tokens = tokenizer(captions)

    loss_fn = open_clip.ClipLoss()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": rest, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
    per_epoch = len(images) // args.batch
    total = per_epoch * args.epochs
    warmup = max(1, min(300, total // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup
        else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup))))
    order_gen = torch.Generator().manual_seed(args.seed)
    history = []
    step = 0
    model.train()
    for epoch in range(args.epochs):
        order = torch.randperm(len(images), generator=order_gen)
        losses = []
        for b in range(per_epoch):
            idx = order[b * args.batch:(b + 1) * args.batch]
            out = model(_pixels(images[idx.numpy()], mean, std), tokens[idx])
            loss = loss_fn(out["image_features"], out["text_features"], out["logit_scale"]) \
                if isinstance(out, dict) else loss_fn(*out[:3])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            with torch.no_grad():  # CLIP clamps its logit scale at 100
                model.logit_scale.clamp_(0, math.log(100))
            losses.append(float(loss.detach()))
            step += 1
            if step % 25 == 0:
                print(f"  step {step}/{total} loss {np.mean(losses[-25:]):.3f} ({time.time() - t0:.0f} s)",
                      file=sys.stderr, flush=True)
        acc = zero_shot(model, tokenizer, val_images, val_labels, mean, std)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), **acc})
        print(f"epoch {epoch + 1}/{args.epochs} loss {np.mean(losses):.3f} things {acc['thing_accuracy']:.3f} "
              f"places {acc['place_accuracy']:.3f} pairs {acc['pair_accuracy']:.3f} "
              f"({time.time() - t0:.0f} s, load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    return {"model": model, "history": history, "seconds": time.time() - t0,
            "render_seconds": render_seconds, "params": params}


def save_weights(model, weights: Path, seed: int) -> None:
    """The model's weights in fp16 safetensors."""
    from safetensors.torch import save_file

    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(weights), metadata={"model": MODEL, "config": CONFIG.name,
                                             "trained_by": "examples/train_lab_clip.py", "seed": str(seed)})


def save_elsewhere(result: dict, args) -> None:
    """Another lab-world model (``--out``): its weights, its config under the
    same name (open_clip names a config file's model by its stem) and its
    training history beside them; the shipped model is not touched."""
    weights = args.out
    weights.parent.mkdir(parents=True, exist_ok=True)
    save_weights(result["model"], weights, args.seed)
    weights.with_suffix(".json").write_text(CONFIG.read_text())
    weights.with_name(weights.stem + ".history.json").write_text(
        json.dumps(result["history"], indent=1) + "\n")
    print(f"wrote {weights} and {weights.with_suffix('.json').name}", file=sys.stderr)


def ship(result: dict, args) -> None:
    model, history = result["model"], result["history"]
    weights = MODEL_DIR / f"{MODEL}.safetensors"
    save_weights(model, weights, args.seed)
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    final = history[-1]
    command = (f"python examples/train_lab_clip.py --seed {args.seed} --train {args.train} --val {args.val} "
               f"--epochs {args.epochs} --batch {args.batch} --lr {args.lr}")
    per_class = " · ".join(f"{n} {a:.0%}" for n, a in final["per_class"].items())
    card = CARD.format(
        sha=sha, mb=weights.stat().st_size / 1e6, params=result["params"] / 1e6,
        config=CONFIG.read_text().strip(), train=args.train, val=args.val, seed=args.seed,
        wide=args.wide_share, epochs=args.epochs, batch=args.batch, lr=args.lr, wd=args.weight_decay,
        minutes=result["seconds"] / 60, render=result["render_seconds"] / 60, command=command,
        thing=final["thing_accuracy"], n_thing=final["thing_pictures"], place=final["place_accuracy"],
        n_place=final["place_pictures"], pair=final["pair_accuracy"], n_pair=final["pair_pictures"],
        per_class=per_class, size=SIZE, wide_h=WIDE[1],
        history="\n".join(f"| {h['epoch']} | {h['loss']:.3f} | {h['thing_accuracy']:.3f} | "
                          f"{h['place_accuracy']:.3f} | {h['pair_accuracy']:.3f} |" for h in history))
    (MODEL_DIR / "README.md").write_text(card, encoding="utf-8")
    (MODEL_DIR / "training.json").write_text(json.dumps(
        {"command": command, "seconds": round(result["seconds"], 1), "sha256": sha,
         "history": history}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {weights} ({sha[:12]}, {weights.stat().st_size / 1e6:.1f} MB), card, training.json",
          file=sys.stderr)


CARD = """# autofoley-lab

A small CLIP model that knows the **lab world** of `examples/lab_world` (14 things
on 5 places: snake, kettle, fan, horse, cat, saw, frog, helicopter, hammer, ship,
wind chime, and the silent cactus, snowman and crate; desert, workshop, snowfield,
office, harbour). It exists to measure autofoley on a world nothing was tuned on
(see `examples/lab/README.md`); it knows nothing else.

| | |
|---|---|
| architecture | open_clip `CLIP` with a `ModifiedResNet` image tower (CLIP RN-style: layers [1, 1, 1, 1], width 16, attention pool) and a 2-layer transformer text tower; config `autofoley-lab.json` (below): {params:.2f} M parameters |
| weights | `autofoley-lab.safetensors`, fp16, {mb:.1f} MB, sha256 `{sha}` |
| input | {size} px; film frames letterboxed (`--frame-fit pad`: a 16:9 frame becomes {size}x{wide_h} between black bars) |
| training data | {train} rendered pictures + captions (seed {seed}; {wide:.0%} 16:9 letterboxed, the rest square): an eighth empty places, a third two things side by side, the rest one thing anywhere; some dimmed (fades) or blended (dissolves); a sixth of the captions are keyword lists |
| training | from scratch, symmetric InfoNCE (open_clip `ClipLoss`), AdamW lr {lr}, weight decay {wd}, gradients clipped at norm 1, batch {batch}, {epochs} epochs, warmup + cosine; {minutes:.1f} min on 2 CPU cores shared with a test suite (torch in 1 thread, 2 rendering processes), {render:.1f} min of it rendering |
| zero-shot accuracy | **{thing:.1%}** on {n_thing} held-out single-thing pictures (14 classes, prompt "a photo of a <thing>"); **{place:.1%}** on {n_place} held-out empty places (5); **{pair:.1%}** of {n_pair} two-thing pictures have both things as the top two; held-out = seed {seed}+1000 |
| per class | {per_class} |

Use it through its config path and checkpoint (not through `models/registry.json`,
so it ships no tuned placement defaults: autofoley's own defaults apply):

```bash
autofoley score FILM.mp4 --library examples/lab/library \\
  --clip-model examples/lab/model/autofoley-lab.json \\
  --clip-pretrained examples/lab/model/autofoley-lab.safetensors --frame-fit pad --out OUT
```

Retrain (deterministic for a given seed and torch build):

```bash
{command}
```

| epoch | loss | thing acc. | place acc. | pair acc. |
|---|---|---|---|---|
{history}

Config:

```json
{config}
```

Licence: same as autofoley. Trained only on procedurally generated pictures.
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", type=int, default=15000, help="training pictures (default: %(default)s)")
    p.add_argument("--val", type=int, default=1500, help="held-out pictures (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--wide-share", type=float, default=0.85, help="share of 16:9 letterboxed pictures")
    p.add_argument("--workers", type=int, default=2, help="rendering processes")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default: %(default)s, see above)")
    p.add_argument("--no-ship", dest="ship", action="store_false", help="write nothing")
    p.add_argument("--out", type=Path, default=None,
                   help="write the model to this .safetensors file (and its config beside it) "
                        "instead of examples/lab/model/")
    args = p.parse_args()
    if args.out is not None and args.out.suffix != ".safetensors":
        p.error(f"--out {args.out}: name a .safetensors file")
    result = train(args)
    print(json.dumps({k: v for k, v in result["history"][-1].items() if k != "per_class"}), flush=True)
    if args.out is not None:
        save_elsewhere(result, args)
    elif args.ship:
        ship(result, args)


if __name__ == "__main__":
    main()
