#!/usr/bin/env python3
"""What the image tower gains from CPU inference options, in one run.

For one CLIP model (default ViT-B-32 with random weights: timing only) it
encodes the same batch of frames with each variant, alternating the variants
round by round (A B C ... A B C ...) so a change of the machine's load hits
them all alike, and prints per variant: the median seconds per frame, the
speed-up over fp32, and the lowest cosine of its embeddings against fp32's.

Variants: fp32 (the pipeline's), one thread instead of all, channels-last
memory, dynamic int8 quantisation of the linear layers
(``torch.ao.quantization.quantize_dynamic``), ONNX Runtime (the image tower
exported with ``torch.onnx.export``; needs ``onnxruntime``) and
``torch.compile``. A variant that cannot run here prints why.

The rule for adopting one: at least 1.3 x faster with cosine >= 0.99
against fp32, behind a flag when it changes results.

    python bench/bench_cpu_inference.py
    python bench/bench_cpu_inference.py --clip-model autofoley-demo --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clip-model", default="ViT-B-32")
    p.add_argument("--clip-pretrained", default="none")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--skip", default="", help="comma-separated variants to leave out")
    args = p.parse_args()

    import numpy as np
    import torch

    from autofoley.models.clip import load_clip

    enc = load_clip(args.clip_model, args.clip_pretrained, "cpu")
    model = enc.model.visual.eval()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (args.batch, enc.image_size, enc.image_size, 3), dtype=np.uint8)
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div(255.0)
    x = (x - enc.mean) / enc.std
    threads = torch.get_num_threads()

    def run(fn):
        with torch.inference_mode():
            out = fn(x)
        out = out.float() if hasattr(out, "float") else torch.from_numpy(np.asarray(out))
        return torch.nn.functional.normalize(out, dim=-1)

    variants = {"fp32": lambda: (lambda t: model(t))}

    def one_thread():
        def fn(t):
            torch.set_num_threads(1)
            try:
                return model(t)
            finally:
                torch.set_num_threads(threads)
        return fn
    variants["1 thread"] = one_thread

    def channels_last():
        m = model.to(memory_format=torch.channels_last)
        return lambda t: m(t.contiguous(memory_format=torch.channels_last))
    variants["channels-last"] = channels_last

    def int8():
        q = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return lambda t: q(t)
    variants["int8 dynamic"] = int8

    def onnx():
        import onnxruntime as ort
        path = Path(tempfile.mkdtemp()) / "visual.onnx"
        torch.onnx.export(model, x[:1], str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return lambda t: torch.from_numpy(sess.run(None, {"x": t.numpy()})[0])
    variants["onnxruntime"] = onnx

    def compiled():
        c = torch.compile(model)
        c(x)  # compile outside the timing
        return lambda t: c(t)
    variants["torch.compile"] = compiled

    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    fns, notes = {}, {}
    for name, make in variants.items():
        if name in skip:
            continue
        try:
            fns[name] = make()
            run(fns[name])  # warm up
        except Exception as exc:  # report and go on: a missing backend is a result
            notes[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:90] if str(exc) else ''}"
            fns.pop(name, None)
    reference = run(fns["fp32"])
    times = {name: [] for name in fns}
    cos = {}
    for _ in range(args.rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            out = run(fn)
            times[name].append((time.perf_counter() - t0) / args.batch)
            cos[name] = float((out * reference).sum(dim=1).min())
    base = statistics.median(times["fp32"])
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{args.clip_model} ({args.clip_pretrained}), batch {args.batch}, {threads} threads, "
          f"{args.rounds} alternated rounds, load average {load}")
    print(f"{'variant':<16} {'ms/frame':>9} {'speed-up':>9} {'min cos':>8}")
    for name in fns:
        t = statistics.median(times[name])
        print(f"{name:<16} {t * 1000:>9.1f} {base / t:>8.2f}x {cos[name]:>8.4f}")
    for name, why in notes.items():
        print(f"{name:<16} not run: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
