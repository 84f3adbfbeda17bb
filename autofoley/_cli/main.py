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
from pathlib import Path

from autofoley import __version__
from autofoley._cli import batch, config, curate, models, score, search, train
from autofoley.errors import AutofoleyError

log = logging.getLogger("autofoley")


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line errors every other failure has: the
    command, the flag and what it takes, then the way to the full usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autofoley",
                     description="Score a video with sound effects from your SFX library.")
    parser.add_argument("--version", action="version", version=f"autofoley {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(commands=sub.choices)
    score.add_parsers(sub)
    batch.add_parsers(sub)
    search.add_parsers(sub)
    curate.add_parsers(sub)
    train.add_parsers(sub)
    models.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    command = args.commands[args.command]
    try:
        layers = _config_layers(command, args)
    except AutofoleyError as exc:
        print(f"autofoley: error: {exc}", file=sys.stderr)
        return exc.exit_code
    if layers:
        # Config values become the command's defaults: flags still win.
        command.set_defaults(**{k: v for layer in layers for k, v in layer.values.items()})
        args = parser.parse_args(argv)
    if args.print_config:
        return _print_config(args, command, layers, argv)
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


def _config_layers(command, args) -> list:
    """The config files that apply to this command line (``config.py``)."""
    known = {a.dest for p in args.commands.values() for a in p._actions if a.option_strings}
    films = getattr(args, "film", None) or getattr(args, "folder", None)
    start = Path(films[0] if isinstance(films, list) else films) if films else Path.cwd()
    return config.layers_for(command, args.command, start, args.config, known)


def _print_config(args, command, layers, argv) -> int:
    given = {a.dest for a in command._actions
             if any(t == o or t.startswith(o + "=") for o in a.option_strings for t in argv)}
    rows = config.describe(args, command, layers, given)
    if args.json:
        from autofoley._cli.display import print_json

        print_json([{"flag": f, "value": v if isinstance(v, (int, float, bool, str, type(None)))
                     else str(v), "source": s} for f, v, s in rows])
        return 0
    width = max(len(f) for f, _, _ in rows)
    for flag, value, source in rows:
        print(f"{flag:<{width}}  {value!s:<28} {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
