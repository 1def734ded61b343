"""The ``dfer`` command.

Each subcommand lives in its own module under :mod:`handcrafted_dfer.commands` and provides
``add_parser(subparsers)`` (which registers its arguments and sets ``func``) and the function it
points ``func`` at. Bad input (:class:`~handcrafted_dfer.errors.DferError`) and invalid parameter
values (``ValueError``) are printed without a traceback and give exit status 2; set the environment
variable ``DFER_DEBUG=1`` to see the traceback instead. Ctrl-C and SIGTERM both stop the command
with exit status 130 and a message; finished work (cache entries) is kept, and a rerun resumes.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from . import __version__
from .errors import DferError

__all__ = ["main", "build_parser"]

#: Subcommands in the order ``dfer --help`` lists them.
COMMANDS = ("demo", "preprocess", "synth", "evaluate", "compare", "train", "predict", "dynamics",
            "explain", "cache")


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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it unwinds like Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run the ``dfer`` command line; return its exit status."""
    args = build_parser().parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main else None
    try:
        return int(args.func(args) or 0)
    except (DferError, ValueError) as exc:
        if os.environ.get("DFER_DEBUG"):
            raise
        print(f"dfer {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"dfer {args.command}: {what}; finished work is kept, run again to resume",
              file=sys.stderr)
        return 130
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
