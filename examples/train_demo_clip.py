"""Train the demo world's CLIP model (``autofoley-demo``) and ship it in models/.

    python examples/train_demo_clip.py                 # about 15 min on 2 CPU cores
    python examples/train_demo_clip.py --epochs 1 --train 2000 --no-ship   # a smoke run

The model is the small open_clip config ``models/configs/autofoley-demo.json``
trained from scratch with the symmetric contrastive (InfoNCE) loss on pictures
of the demo world and their captions (``examples/demo_world``). Pictures are
rendered as films show them to autofoley: most 16:9 frames letterboxed into the
square input (``--frame-fit pad``), some square. Zero-shot accuracy is
measured on held-out pictures (another seed) of a single object: the class
whose prompt "a photo of a <class>" is closest wins.

``--ship`` (the default) writes ``models/autofoley-demo.safetensors`` (fp16),
its sha256 into ``models/registry.json`` and the model card
``models/autofoley-demo.md``. ``--out DIR/NAME.safetensors`` writes another
demo-world model there instead, with its config beside it (``NAME.json``), to
check placement on a second model of the same world (docs/placement.md, "A third model"):

    python examples/train_demo_clip.py --seed 1 --train 20000 --epochs 6 --out models2/demo-s1.safetensors
    autofoley score film.mp4 --clip-model models2/demo-s1.json --clip-pretrained models2/demo-s1.safetensors --frame-fit pad
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from demo_world import world  # noqa: E402

MODEL = "autofoley-demo"
CONFIG = ROOT / "models" / "configs" / f"{MODEL}.json"
SIZE = 96
WIDE = (SIZE, SIZE * 9 // 16)  # a 16:9 frame letterboxed into the square input


def render(args: tuple[int, int, int, float]) -> tuple[np.ndarray, list[str], list[dict]]:
    """Examples [lo, hi) of stream ``seed``: uint8 (n, SIZE, SIZE, 3), captions, labels."""
    seed, lo, hi, wide_share = args
    images = np.zeros((hi - lo, SIZE, SIZE, 3), np.uint8)
    captions, labels = [], []
    for k, index in enumerate(range(lo, hi)):
        rng = np.random.default_rng([seed, index])
        wide = rng.random() < wide_share
        # Rendered at twice the size and scaled down, as ffmpeg scales a film frame.
        size = (WIDE[0] * 2, WIDE[1] * 2) if wide else (SIZE * 2, SIZE * 2)
        image, caption, label = world.random_example(rng, size)
        from PIL import Image

        image = image.resize((size[0] // 2, size[1] // 2), Image.BICUBIC)
        a = np.asarray(image.convert("RGB"))
        top = (SIZE - a.shape[0]) // 2
        images[k, top:top + a.shape[0]] = a
        captions.append(caption)
        labels.append({"place": label["place"], "objects": label["objects"], "wide": wide})
    return images, captions, labels


def render_set(n: int, seed: int, wide_share: float, workers: int):
    chunks = [(seed, lo, min(n, lo + 500), wide_share) for lo in range(0, n, 500)]
    with mp.Pool(workers) as pool:
        parts = pool.map(render, chunks)
    return (np.concatenate([p[0] for p in parts]), sum((p[1] for p in parts), []),
            sum((p[2] for p in parts), []))


def to_tensor(images: np.ndarray, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255)
    return (x - mean) / std


@torch.no_grad()
def zero_shot(model, tokenizer, images, labels, mean, std) -> dict[str, float]:
    """Accuracy over single-object pictures (13 classes) and empty ones (places)."""
    model.eval()
    classes = [c.name for c in world.CLASSES]
    places = [p.name for p in world.PLACES]
    t_cls = model.encode_text(tokenizer([f"a photo of {world._a(c.synonyms[0])}"
                                         for c in world.CLASSES]), normalize=True)
    t_plc = model.encode_text(tokenizer([f"a photo of {world._a(p.synonyms[0])}"
                                         for p in world.PLACES]), normalize=True)
    feats = torch.cat([model.encode_image(to_tensor(images[i:i + 512], mean, std), normalize=True)
                       for i in range(0, len(images), 512)])
    single = [i for i, l in enumerate(labels) if len(l["objects"]) == 1]
    empty = [i for i, l in enumerate(labels) if not l["objects"]]
    pred_c = (feats[single] @ t_cls.T).argmax(1).tolist()
    pred_p = (feats[empty] @ t_plc.T).argmax(1).tolist()
    acc_c = np.mean([classes[p] == labels[i]["objects"][0] for p, i in zip(pred_c, single)])
    acc_p = np.mean([places[p] == labels[i]["place"] for p, i in zip(pred_p, empty)])
    model.train()
    return {"object_accuracy": float(acc_c), "place_accuracy": float(acc_p),
            "object_images": len(single), "place_images": len(empty)}


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

    t0 = time.time()
    images, captions, _ = render_set(args.train, args.seed, args.wide_share, args.workers)
    val_images, _, val_labels = render_set(args.val, args.seed + 1000, args.wide_share, args.workers)
    print(f"rendered {len(images)} + {len(val_images)} pictures in {time.time() - t0:.0f} s",
          file=sys.stderr)
    tokens = tokenizer(captions)

    loss_fn = open_clip.ClipLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    steps_per_epoch = len(images) // args.batch
    total = steps_per_epoch * args.epochs
    warmup = min(200, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else
        0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup))))
    gen = torch.Generator().manual_seed(args.seed)
    history = []
    step = 0
    for epoch in range(args.epochs):
        order = torch.randperm(len(images), generator=gen)
        losses = []
        for b in range(steps_per_epoch):
            idx = order[b * args.batch:(b + 1) * args.batch]
            x = to_tensor(images[idx.numpy()], mean, std)
            img_f, txt_f, scale = model(x, tokens[idx])
            loss = loss_fn(img_f, txt_f, scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():  # CLIP's clamp: a logit scale above 100 destabilises training
                model.logit_scale.clamp_(0, math.log(100))
            losses.append(loss.item())
            step += 1
        acc = zero_shot(model, tokenizer, val_images, val_labels, mean, std)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), **acc})
        print(f"epoch {epoch + 1}/{args.epochs} loss {np.mean(losses):.3f} "
              f"objects {acc['object_accuracy']:.3f} places {acc['place_accuracy']:.3f} "
              f"({time.time() - t0:.0f} s)", file=sys.stderr)
    return {"model": model, "history": history, "seconds": time.time() - t0}


def save_weights(model, weights: Path) -> None:
    """The model's weights in fp16 safetensors."""
    from safetensors.torch import save_file

    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(weights), metadata={"model": MODEL, "trained_by": "examples/train_demo_clip.py"})


def save_elsewhere(model, history: list[dict], weights: Path) -> None:
    """A model of the demo world that is not the shipped one: its weights,
    its config under the same name (open_clip names a config file's model by
    its stem) and its training history beside them."""
    weights.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model, weights)
    weights.with_suffix(".json").write_text(CONFIG.read_text())
    weights.with_name(weights.stem + ".history.json").write_text(json.dumps(history, indent=1) + "\n")
    print(f"wrote {weights} and {weights.with_suffix('.json').name}", file=sys.stderr)


def ship(model, history: list[dict], args, seconds: float) -> None:
    weights = ROOT / "models" / f"{MODEL}.safetensors"
    save_weights(model, weights)
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    reg_path = ROOT / "models" / "registry.json"
    reg = json.loads(reg_path.read_text())
    entry = reg["clip"].get(MODEL, {})
    entry.update({
        "config": f"configs/{MODEL}.json",
        "weights": weights.name,
        "sha256": sha,
        "card": f"{MODEL}.md",
        "description": "demo-world CLIP (96 px ViT, 4 layers) trained by examples/train_demo_clip.py; "
                       "knows only the demo world's objects and places",
    })
    entry.setdefault("defaults", {"frame_fit": "pad"})
    reg["clip"][MODEL] = entry
    reg_path.write_text(json.dumps(reg, indent=2) + "\n")
    final = history[-1]
    card = ROOT / "models" / f"{MODEL}.md"
    card.write_text(CARD.format(
        sha=sha, size=weights.stat().st_size / 1e6, config=CONFIG.read_text().strip(),
        train=args.train, val=args.val, epochs=args.epochs, batch=args.batch, lr=args.lr,
        seed=args.seed, wide=args.wide_share, minutes=seconds / 60,
        obj=final["object_accuracy"], place=final["place_accuracy"],
        n_obj=final["object_images"], n_place=final["place_images"],
        history="\n".join(f"| {h['epoch']} | {h['loss']:.3f} | {h['object_accuracy']:.3f} | "
                          f"{h['place_accuracy']:.3f} |" for h in history)))
    print(f"wrote {weights} ({sha}), {card}, registry entry", file=sys.stderr)


CARD = """# autofoley-demo

A small CLIP model that knows the demo world of `examples/demo_world` (13 object
classes on 4 places), so the bundled example and the tests can check that autofoley
places the right sound at the right time without downloading real weights. It knows
nothing else: use a real CLIP model (the default `ViT-B-32`) for real films.

| | |
|---|---|
| architecture | open_clip `CLIP`, config `models/configs/autofoley-demo.json` |
| weights | `models/autofoley-demo.safetensors`, fp16, {size:.1f} MB |
| sha256 | `{sha}` |
| input | 96 px; film frames are letterboxed (registry default `frame_fit: pad`) |
| training data | {train} rendered pictures + captions (seed {seed}; {wide:.0%} 16:9 letterboxed, the rest square) |
| training | from scratch, symmetric InfoNCE (open_clip `ClipLoss`), AdamW lr {lr}, weight decay 0.1, batch {batch}, {epochs} epochs, warmup + cosine; {minutes:.0f} min on 2 CPU cores |
| zero-shot accuracy | {obj:.1%} on {n_obj} held-out single-object pictures (13 classes); {place:.1%} on {n_place} held-out empty places (4 places); held-out = seed {seed}+1000 |

Retrain (deterministic for a given seed and torch build):

```bash
python examples/train_demo_clip.py --seed {seed} --train {train} --epochs {epochs}
```

| epoch | loss | object acc. | place acc. |
|---|---|---|---|
{history}

Licence: same as autofoley. Trained only on procedurally generated pictures.
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", type=int, default=30000, help="training pictures")
    p.add_argument("--val", type=int, default=2000, help="held-out pictures")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wide-share", type=float, default=0.8, help="share of 16:9 letterboxed pictures")
    p.add_argument("--workers", type=int, default=2, help="rendering processes")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--no-ship", dest="ship", action="store_false", help="do not write models/")
    p.add_argument("--out", type=Path, default=None,
                   help="write the model to this .safetensors file (and its config beside it) "
                        "instead of models/")
    args = p.parse_args()
    if args.out is not None and args.out.suffix != ".safetensors":
        p.error(f"--out {args.out}: name a .safetensors file")
    out = train(args)
    print(json.dumps(out["history"][-1]), flush=True)
    if args.out is not None:
        save_elsewhere(out["model"], out["history"], args.out)
    elif args.ship:
        ship(out["model"], out["history"], args, out["seconds"])


if __name__ == "__main__":
    main()
