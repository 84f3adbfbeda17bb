"""The ``autofoley`` command: builds the parser, sets up logging, dispatches.

Exit codes: 0 success; 2 usage error; 3 bad input (film, image, pairs
folder); 4 bad library; 5 model or weights problem; 6 output not writable;
7 ffmpeg missing or failing; 8 a batch finished with some films failed;
130 interrupted; 1 an unexpected error (a bug: the traceback is printed).
Results go to stdout (``--json``), everything else to stderr.

Each command module adds its parsers with ``add_parsers(subparsers)`` and
sets a ``handler`` (and optionally a ``check`` of flag combinations); the
command modules import only ``flags`` and ``display``, never each other.
"""

from __future__ import annotations

import argparse
import logging
import sys

from autofoley import __version__
from autofoley._cli import batch, curate, score, search, train
from autofoley.errors import AutofoleyError

log = logging.getLogger("autofoley")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autofoley",
                                     description="Score a video with sound effects from your SFX library.")
    parser.add_argument("--version", action="version", version=f"autofoley {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    score.add_parsers(sub)
    batch.add_parsers(sub)
    search.add_parsers(sub)
    curate.add_parsers(sub)
    train.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    check = getattr(args, "check", None)
    if check is not None:
        check(parser, args)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="autofoley: %(levelname)s: %(message)s", stream=sys.stderr)
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO if not args.quiet else logging.WARNING)
    try:
        return args.handler(args)
    except AutofoleyError as exc:
        print(f"autofoley: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("autofoley: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
