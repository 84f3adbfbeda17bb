"""What the commands show a person: the progress display and result tables.

One place decides whether progress is drawn (a terminal, no ``--quiet``):
every command asks ``progress(args)`` for its reporter.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

from autofoley.progress import NullReporter


def shows_progress(args) -> bool:
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


@contextlib.contextmanager
def progress(args, reporter=None) -> Iterator[NullReporter]:
    """The reporter a command passes to the library: ``reporter`` (or rich
    bars) on a terminal, a silent timer otherwise."""
    if not shows_progress(args):
        yield NullReporter()
        return
    if reporter is None:
        from autofoley.progress import RichReporter

        reporter = RichReporter()
    with reporter:
        yield reporter


def format_metrics(rows: dict) -> str:
    """Placement figures per film, as ``evaluate`` and ``tune`` print them."""
    head = (f"{'film':<24} {'cut F1':>7} {'SFX P':>7} {'SFX R':>7} {'SFX F1':>7} {'onset':>7} "
            f"{'amb':>6}")
    lines = [head]
    for name, m in rows.items():
        onset = "-" if m.median_onset_error != m.median_onset_error else f"{m.median_onset_error:.2f}s"
        amb = "-" if m.ambience_accuracy != m.ambience_accuracy else f"{m.ambience_accuracy:.2f}"
        lines.append(f"{name:<24} {m.cut_f1:>7.2f} {m.sfx_precision:>7.2f} {m.sfx_recall:>7.2f} "
                     f"{m.sfx_f1:>7.2f} {onset:>7} {amb:>6}")
    return "\n".join(lines)
