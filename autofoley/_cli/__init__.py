"""The command line: parses flags, shows progress, calls the library."""

from autofoley._cli.main import main

__all__ = ["main"]
