"""The ``dfer`` command.

Each subcommand lives in its own module under :mod:`handcrafted_dfer.commands` and provides
``add_parser(subparsers)`` (which registers its arguments and sets ``func``) and the function it
points ``func`` at. Bad input (:class:`~handcrafted_dfer.errors.DferError`) and invalid parameter
values (``ValueError``) are printed without a traceback and give exit status 2; set the environment
variable ``DFER_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import DferError

__all__ = ["main", "build_parser"]

#: Subcommands in the order ``dfer --help`` lists them.
COMMANDS = ("demo", "preprocess", "synth", "evaluate", "compare", "train", "predict", "dynamics")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="dfer",
        description="Dynamic facial expression recognition with LBP-TOP, 3D-HOG and optical flow, "
        "compared with a 3D CNN on the same clips and folds.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"handcrafted_dfer.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``dfer`` command line; return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DferError, ValueError) as exc:
        if os.environ.get("DFER_DEBUG"):
            raise
        print(f"dfer {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dfer {args.command}: interrupted; finished work is kept, run again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
