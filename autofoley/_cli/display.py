"""What the commands show a person: the progress display and result tables.

One place decides whether progress is drawn (a terminal, no ``--quiet``):
every command asks ``progress(args)`` for its reporter.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Iterator

from autofoley.atomic import strict_json
from autofoley.progress import NullReporter


def shows_progress(args) -> bool:
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


@contextlib.contextmanager
def progress(args, reporter=None) -> Iterator[NullReporter]:
    """The reporter a command passes to the library: ``reporter`` (or rich
    bars) on a terminal; without one, a log line every 30 s of a long stage;
    with ``--quiet``, a silent timer."""
    if getattr(args, "quiet", False):
        yield NullReporter()
        return
    if not shows_progress(args):
        from autofoley.progress import LogReporter

        yield LogReporter()
        return
    if reporter is None:
        from autofoley.progress import RichReporter

        reporter = RichReporter()
    with reporter:
        yield reporter


def format_metrics(films: dict) -> str:
    """Placement figures per film (``films``: name -> Metrics), as
    ``evaluate`` and ``tune`` print them, with their pooled total when there
    are several, then what the total's false positives were."""
    from autofoley.evaluation.evaluate import pooled

    def num(v, fmt="{:.2f}"):
        return "-" if v != v else fmt.format(v)

    rows = dict(films)
    if len(rows) > 1:
        rows[f"all ({len(rows)} films)"] = pooled(list(films.values()))

    head = (f"{'film':<24} {'cut F1':>7} {'SFX P':>7} {'SFX R':>7} {'SFX F1':>7} {'det F1':>7} "
            f"{'onset':>7} {'amb':>6}")
    lines = [head]
    for name, m in rows.items():
        lines.append(f"{name:<24} {m.cut_f1:>7.2f} {m.sfx_precision:>7.2f} {m.sfx_recall:>7.2f} "
                     f"{m.sfx_f1:>7.2f} {num(m.detection_f1):>7} "
                     f"{num(m.median_onset_error, '{:.2f}s'):>7} {num(m.ambience_accuracy):>6}")
    last = list(rows.values())[-1] if rows else None
    if last is not None and last.false_positives:
        causes = ", ".join(f"{n} {c}" for c, n in sorted(last.causes.items(), key=lambda x: -x[1]))
        lines.append(f"false positives{' (all films)' if len(rows) > 1 else ''}: {causes}")
        if last.confusions:
            shown = ", ".join(f"{n} {a} over {b}" for a, b, n in last.confusions[:6])
            more = len(last.confusions) - 6
            lines.append(f"wrong sounds, placed over the thing on screen: {shown}"
                         + (f" (and {more} more pairs)" if more > 0 else ""))
    return "\n".join(lines)


def print_json(data) -> None:
    """``--json`` output on stdout: strict JSON (NaN and infinities as null)."""
    print(json.dumps(strict_json(data), indent=2, allow_nan=False))
