"""Config files: the defaults of any flag, in TOML, weakest first:

1. autofoley's built-in defaults;
2. the user's ``config.toml`` in the config folder (``~/.config/autofoley``,
   ``$AUTOFOLEY_CONFIG``);
3. the project's ``autofoley.toml``, the nearest one in the folder of the
   film (or footage folder) or any folder above it;
4. the file given with ``--config FILE``;
5. the flags on the command line.

A key is a flag's long name, with or without its dashes (``clip-model`` or
``clip_model``); keys at the top apply to every command that has the flag,
keys under ``[score]``, ``[batch]``... only to that command and win over the
top ones of the same file. A value is checked by the flag's own type, so a
config file cannot hold what the command line would refuse.

    # autofoley.toml
    clip-model = "autofoley-demo"
    library = "~/SFX"
    [score]
    export = "fcp7xml,aaf"
    no-report = true
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autofoley.errors import UsageError

USER_FILE = "config.toml"
PROJECT_FILE = "autofoley.toml"


@dataclass
class Layer:
    """One source of settings and what it sets (flag dest -> parsed value)."""

    name: str  # "user", "project", "--config"
    path: Path
    values: dict = field(default_factory=dict)


def user_config_path() -> Path:
    from autofoley.placement.settings import config_root

    return config_root() / USER_FILE


def find_project_config(start: Path) -> Path | None:
    """The nearest ``autofoley.toml`` in ``start`` (a file's folder, or a
    folder) or any folder above it."""
    folder = start if start.is_dir() else start.parent
    for candidate in [folder, *folder.parents]:
        path = candidate / PROJECT_FILE
        if path.is_file():
            return path
    return None


def _read_toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UsageError("config file not found", path, "check the --config path") from None
    except OSError as exc:
        raise UsageError(f"config file cannot be read ({exc.strerror})", path,
                         "fix its permissions") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file is not valid TOML ({exc})", path,
                         "fix the line it names") from None


def _convert(action: argparse.Action, key: str, value, path: Path):
    """``value`` checked and converted as the flag ``key`` would be."""
    where = f"'{key}' in config file"
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise UsageError(f"{where} takes true or false, not {value!r}", path)
        return value if isinstance(action, argparse._StoreTrueAction) else not value
    if isinstance(value, (dict, list)) and action.nargs is None:
        raise UsageError(f"{where} takes one value, not {value!r}", path)
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        text = str(v).lower() if isinstance(v, bool) else str(v)
        if action.choices is not None and (action.type or str)(text) not in action.choices:
            raise UsageError(f"{where} must be one of {', '.join(map(str, action.choices))}, "
                             f"not {v!r}", path)
        try:
            out.append(action.type(text) if action.type else text)
        except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
            raise UsageError(f"{where}: {exc}", path) from None
    return out if isinstance(value, list) or action.nargs in ("+", "*") else out[0]


def read_layer(name: str, path: Path, parser: argparse.ArgumentParser, command: str,
               known: set[str]) -> Layer:
    """The settings ``path`` gives ``command``, checked against its parser;
    ``known``: the flags (dests) of every command."""
    data = _read_toml(path)
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    section = data.get(command) if isinstance(data.get(command), dict) else {}
    entries = [(k, v, False) for k, v in data.items() if not isinstance(v, dict)]
    entries += [(k, v, True) for k, v in section.items()]  # later: the section wins
    layer = Layer(name, path)
    for key, value, in_section in entries:
        dest = key.lstrip("-").replace("-", "_")
        if dest in ("config", "print_config", "help"):
            raise UsageError(f"'{key}' cannot be set in a config file", path)
        action = actions.get(dest)
        if action is None:
            # A top-level key of another command's flag is fine (one file
            # serves every command); anything else is a typo worth saying.
            if in_section or dest not in known:
                raise UsageError(f"'{key}' is not a setting of 'autofoley {command}'", path,
                                 "use a flag's long name, e.g. clip-model")
            continue
        layer.values[dest] = _convert(action, key, value, path)
    return layer


def layers_for(parser: argparse.ArgumentParser, command: str, start: Path | None,
               explicit: Path | None, known: set[str]) -> list[Layer]:
    """The config layers of ``command``, weakest first; ``start`` is where
    the project file is looked for (the film's or footage folder);
    ``known``: the flags of every command (a top-level key may be another's)."""
    layers = []
    user = user_config_path()
    if user.is_file():
        layers.append(read_layer("user", user, parser, command, known))
    if start is not None:
        project = find_project_config(start.expanduser().resolve())
        if project is not None:
            layers.append(read_layer("project", project, parser, command, known))
    if explicit is not None:
        layers.append(read_layer("--config", explicit.expanduser(), parser, command, known))
    return layers


def describe(args: argparse.Namespace, parser: argparse.ArgumentParser,
             layers: list[Layer], given: set[str]) -> list[tuple[str, object, str]]:
    """(flag, value, where it came from) for every flag of the command."""
    rows = []
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "config", "print_config"):
            continue
        source = "built-in"
        for layer in layers:
            if action.dest in layer.values:
                source = f"{layer.name} ({layer.path})"
        if action.dest in given:
            source = "flag"
        value = getattr(args, action.dest, None)
        rows.append((max(action.option_strings, key=len), value, source))
    return rows
