"""Every relative link in the project's markdown points at something that exists.

For README.md, docs/*.md, bench/README.md and every other markdown file of the
tree (bench/out and hidden, build and cache folders left out): each
``[text](target)`` that is not a web or mail address must name an existing
file or folder, and its ``#anchor`` (in the same file or in ``other.md#anchor``)
must be the slug of one of the target's headings, as GitHub makes them
(lowercase, spaces to '-', punctuation but '-' and '_' dropped, '-1', '-2'
appended to repeats). Links inside fenced code blocks and inline code are not
links.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {"build", "dist", "node_modules", "__pycache__", "autofoley-out", "site-packages"}

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+[\"'(][^)]*)?\)")


def markdown_files(root: Path = ROOT) -> list[Path]:
    """The tree's markdown files, bench/out and hidden or built folders left out."""
    found = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(
            d for d in dirs
            if not (d.startswith(".") or d in SKIP_DIRS or d.endswith(".egg-info")
                    or (here / d) == root / "bench" / "out" or (here / d / "pyvenv.cfg").exists()))
        found += [here / f for f in sorted(files) if f.endswith(".md")]
    return sorted(found)


def _prose(text: str) -> list[str]:
    """The file's lines, those inside fenced code blocks blanked."""
    out, fence = [], None
    for line in text.splitlines():
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            out.append("")
        elif fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip()[len(m.group(1)):].strip():
                fence = None
            out.append("")
        else:
            out.append(line)
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text (before the -N of repeats)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text)                       # inline HTML
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file, repeats numbered as GitHub does."""
    seen: dict[str, int] = {}
    result = set()
    for line in _prose(path.read_text(encoding="utf-8")):
        m = _HEADING.match(line)
        if not m:
            continue
        text = re.sub(r"[ \t]+#+[ \t]*$", "", m.group(2) or "")
        base = slug(text)
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else f"{base}-{n}")
    return result


def links(path: Path) -> list[str]:
    """The link targets of a markdown file, outside code."""
    text = "\n".join(_prose(path.read_text(encoding="utf-8")))
    text = _INLINE_CODE.sub(lambda m: " " * len(m.group(0)), text)
    return [m.group(1).strip("<>") for m in _LINK.finditer(text)]


def broken_links(path: Path) -> list[str]:
    """What is wrong with a markdown file's relative links, one line each."""
    problems = []
    for target in links(path):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):  # http:, https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{path.name}: {target}: no such file")
            continue
        if anchor and dest.is_file() and dest.suffix.lower() == ".md":
            if unquote(anchor) not in anchors(dest):
                problems.append(f"{path.name}: {target}: no heading with that anchor")
    return problems


FILES = markdown_files()


def test_the_files_are_found():
    rel = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {"README.md", "bench/README.md", "docs/placement.md", "docs/audio-encoder.md"} <= rel
    assert not any(r.startswith("bench/out/") for r in rel)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(path):
    assert broken_links(path) == []


def test_slugs_follow_github():
    assert slug("The lab world: held out, never tuned on") == "the-lab-world-held-out-never-tuned-on"
    assert slug("Built-in things the model never learnt (measured, not in)") == \
        "built-in-things-the-model-never-learnt-measured-not-in"
    assert slug("`autofoley curate`: training data") == "autofoley-curate-training-data"
    assert slug("Playing the timeline in MLT (Shotcut, melt)") == "playing-the-timeline-in-mlt-shotcut-melt"
    assert slug("bench_placement.py") == "bench_placementpy"


def test_a_broken_link_is_caught(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Part\n\n## Part\n", encoding="utf-8")
    (tmp_path / "doc.md").write_text(
        "# Doc\n\n## A section, here\n\n"
        "[ok](#a-section-here) [ok](other.md#part-1) [ok](other.md) [web](https://example.com/#x)\n"
        "[bad](#no-such-section) [bad](other.md#part-2) [bad](missing.md)\n"
        "`[code](nowhere.md)`\n\n```\n[fenced](nowhere.md)\n```\n",
        encoding="utf-8")
    problems = broken_links(tmp_path / "doc.md")
    assert [p.split(": ")[1] for p in problems] == ["#no-such-section", "other.md#part-2", "missing.md"]
