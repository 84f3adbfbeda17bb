#!/usr/bin/env python3
"""The papers' pipeline written plainly: the baseline ``bench_speed.py`` times
autofoley against. Not part of autofoley (it imports nothing from it).

    python bench/naive_pipeline.py FILM --library LIB --out OUT.mp4 \\
        [--clip-model ViT-B-32 --clip-pretrained none]

What it does, the way a first script would:

1. scenes with PySceneDetect's ``detect`` (ContentDetector);
2. every sound's tags (``library.csv``'s description, else the file name)
   through the CLIP text tower, one sentence at a time, on every run;
3. the frame every 0.1 s with moviepy's ``get_frame``, preprocessed and
   encoded one frame at a time;
4. a dense softmax over the whole library per frame (temperature 0.01) and
   Demarchi's threshold/stability runs (t 0.1, d 0.5), at most one sound per
   run, the best sound of each run placed at its start;
5. the sounds overlaid on silence with pydub, written as a WAV, muxed onto the
   film with moviepy's ``write_videofile``.

Needs the ``bench`` extra: ``pip install 'autofoley[bench]'`` (moviepy, pydub).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

AUDIO = {".wav", ".flac", ".ogg", ".aif", ".aiff", ".mp3"}


def library_sentences(root: Path) -> list[tuple[Path, str]]:
    tags = {}
    sidecar = root / "library.csv"
    if sidecar.is_file():
        with open(sidecar, newline="", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                tags[(root / row["path"]).resolve()] = row.get("description") or ""
    out = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in AUDIO:
            text = tags.get(path.resolve()) or path.stem.replace("_", " ")
            out.append((path, f"a photo of {text}."))
    return out


def runs(series, threshold: float = 0.1, stability: float = 0.5):
    out, first, total = [], -1, 0.0
    for i, s in enumerate(series):
        if s > threshold and first >= 0 and abs(s - total / (i - first)) <= stability * total / (i - first):
            total += s
            continue
        if first >= 0:
            out.append((first, i))
            first = -1
        if s > threshold:
            first, total = i, s
    if first >= 0:
        out.append((first, len(series)))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("film", type=Path)
    p.add_argument("--library", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--clip-model", default="ViT-B-32", help="open_clip name or model config .json")
    p.add_argument("--clip-pretrained", default="none")
    p.add_argument("--step", type=float, default=0.1)
    args = p.parse_args(argv)

    import numpy as np
    import open_clip
    import torch
    from moviepy import AudioFileClip, VideoFileClip
    from PIL import Image
    from pydub import AudioSegment
    from scenedetect import ContentDetector, detect

    t0 = time.perf_counter()
    pretrained = None if args.clip_pretrained == "none" else args.clip_pretrained
    name = args.clip_model
    if name.endswith(".json"):  # a model config of one's own, as open_clip takes it
        open_clip.add_model_config(name)
        name = Path(name).stem
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained)
    model.eval()
    tokenizer = open_clip.get_tokenizer(name)
    scenes = detect(str(args.film), ContentDetector())
    sounds = library_sentences(args.library)
    with torch.no_grad():
        keys = []
        for _, sentence in sounds:  # one at a time, every run
            e = model.encode_text(tokenizer([sentence]))
            keys.append((e / e.norm(dim=-1, keepdim=True))[0].numpy())
        keys = np.stack(keys)
        clip = VideoFileClip(str(args.film))
        n = int(clip.duration / args.step)
        frames = []
        for i in range(n):  # one frame at a time
            image = Image.fromarray(clip.get_frame((i + 0.5) * args.step))
            e = model.encode_image(preprocess(image).unsqueeze(0))
            frames.append((e / e.norm(dim=-1, keepdim=True))[0].numpy())
    frames = np.stack(frames)
    logits = frames @ keys.T / 0.01
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    mix = AudioSegment.silent(duration=int(clip.duration * 1000), frame_rate=48000)
    placed = 0
    for c in range(len(sounds)):
        for first, stop in runs(probs[:, c]):
            if stop - first < 3 or probs[first:stop].mean(axis=0).argmax() != c:
                continue
            sound = AudioSegment.from_file(sounds[c][0])
            mix = mix.overlay(sound[: int((stop - first) * args.step * 1000)],
                              position=int(first * args.step * 1000))
            placed += 1
    wav = args.out.with_suffix(".naive.wav")
    mix.export(wav, format="wav")
    clip.with_audio(AudioFileClip(str(wav))).write_videofile(
        str(args.out), codec="libx264", audio_codec="aac", logger=None)
    clip.close()
    print(f"naive: {len(scenes)} scenes, {n} frames, {len(sounds)} sounds, {placed} placed, "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
