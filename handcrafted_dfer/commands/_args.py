"""Argument types the ``dfer`` subcommands share (for ``type=`` of ``add_argument``)."""

from __future__ import annotations

import argparse
import json

__all__ = ["positive_int", "key_value"]


def positive_int(text: str) -> int:
    """An integer >= 1; anything else is an :class:`argparse.ArgumentTypeError`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text}")
    return value


def key_value(text: str) -> tuple:
    """``KEY=VALUE`` as ``(key, value)``, the value parsed as JSON where it is JSON, else a str."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE; got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value
