"""``dfer cache info | verify | clear``: look after the feature store."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days; got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of days >= 0; got {text}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer cache``."""
    parser = subparsers.add_parser(
        "cache",
        help="show, verify or clear the cache of aligned clips and feature rows",
        description="info: entries and bytes per kind (aligned clips, their warnings, recorded "
        "failures, feature rows) and unfinished temporary files. verify: load every entry and "
        "delete the damaged ones (a later run recomputes them; runs do this by themselves for the "
        "entries they read). clear: delete every entry, or with --older-than those not written "
        "for that many days.",
    )
    parser.add_argument("action", choices=("info", "verify", "clear"))
    parser.add_argument("--cache", metavar="DIR",
                        help="feature store (default $XDG_CACHE_HOME/handcrafted_dfer or "
                        "~/.cache/handcrafted_dfer)")
    parser.add_argument("--older-than", type=_days, metavar="DAYS",
                        help="with clear: only entries not modified for DAYS days")
    parser.set_defaults(func=run)
    return parser


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def run(args: argparse.Namespace) -> int:
    """Carry out the action and print what it found or did."""
    from ..features.store import FeatureStore
    from ._args import cache_dir_from_args

    if args.older_than is not None and args.action != "clear":
        raise ValueError("--older-than goes with clear")
    root = cache_dir_from_args(args)
    store = FeatureStore(root)
    if args.action == "info":
        info = store.info()
        print(f"{info['root']}:")
        for kind, label in (("clip", "aligned clips"), ("warnings", "clip warnings"),
                            ("failure", "recorded failures"), ("features", "feature rows"),
                            ("temporary", "unfinished writes"), ("total", "total")):
            print(f"  {label:18s} {info[kind]['entries']:8d}  {_megabytes(info[kind]['bytes'])}")
    elif args.action == "verify":
        outcome = store.verify()
        for entry in outcome["healed"]:
            print(f"  deleted {entry['path']} ({entry['reason']})")
        print(f"{root}: {outcome['checked']} entries checked, {len(outcome['healed'])} damaged "
              f"and deleted (they are recomputed when next needed)")
    else:
        removed = store.clear(older_than_days=args.older_than)
        age = "" if args.older_than is None else f" not modified for {args.older_than:g} days"
        print(f"{root}: deleted {removed} entries{age}")
    return 0
