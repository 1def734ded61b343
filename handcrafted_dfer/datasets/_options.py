"""Loader options by type: the keyword parameters of a loader, read from its signature.

:func:`parse_options` converts option values given as text (the command line's
``--dataset-option KEY=VALUE``) to the type each loader annotates, so that ``false`` is False and
``3`` is 3, and refuses an unknown key with the list of the loader's options, before any file is
listed.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Callable

__all__ = ["loader_options", "parse_options"]

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_NONE = ("none", "null")


def loader_options(loader: Callable) -> dict[str, tuple[Any, Any]]:
    """The keyword options of a loader: name -> (annotated type, default).

    Parameters
    ----------
    loader : callable
        A loader function ``load_x(root, *, option=default, ...)``.
    """
    hints = typing.get_type_hints(loader)
    return {p.name: (hints.get(p.name, Any), p.default)
            for p in inspect.signature(loader).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def parse_options(loader: Callable, options: dict, *, dataset: str) -> dict:
    """``options`` converted to the types ``loader`` annotates.

    Text is read as the type asks: ``bool`` from ``true/false``, ``yes/no``, ``on/off``, ``1/0``
    (any case); ``int`` and ``float`` from numbers; ``X | None`` also from ``none``/``null``;
    ``tuple[int, int]`` from a list or ``12,24``. Values that already have the type pass unchanged.

    Parameters
    ----------
    loader : callable
    options : dict
        Option name -> value (text or already typed).
    dataset : str
        The dataset's name, for messages.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        An option the loader does not take (the message lists those it takes), or a value that
        is not of the option's type.
    """
    known = loader_options(loader)
    unknown = [key for key in options if key not in known]
    if unknown:
        listed = "; ".join(f"{name} ({_type_name(kind)}, default {default!r})"
                           for name, (kind, default) in known.items()) or "none"
        raise ValueError(f"dataset {dataset!r} has no option {', '.join(map(repr, unknown))}; "
                         f"its options: {listed}")
    parsed = {}
    for key, value in options.items():
        kind = known[key][0]
        try:
            parsed[key] = _convert(value, kind)
        except (TypeError, ValueError):
            raise ValueError(f"dataset {dataset!r} option {key}={value!r}: expected "
                             f"{_type_name(kind)}") from None
    return parsed


def _convert(value: Any, kind: Any) -> Any:
    """``value`` as ``kind``; ValueError when it cannot be one."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or _is_text(value, _NONE)):
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg)
            except (TypeError, ValueError):
                continue
        raise ValueError(value)
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else list(value)
        kinds = (args[0],) * len(items) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(kinds):
            raise ValueError(value)
        return tuple(_convert(item.strip() if isinstance(item, str) else item, k)
                     for item, k in zip(items, kinds))
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if _is_text(value, _TRUE):
            return True
        if _is_text(value, _FALSE):
            return False
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value.strip()) if isinstance(value, str) else int(value)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind is str:
        if isinstance(value, (list, dict, tuple)) or value is None:
            raise ValueError(value)
        return value if isinstance(value, str) else str(value)
    if isinstance(kind, type) and not isinstance(value, kind):
        raise ValueError(value)
    return value


def _is_text(value: Any, words: tuple[str, ...]) -> bool:
    return isinstance(value, str) and value.strip().lower() in words


def _type_name(kind: Any) -> str:
    """``bool``, ``int``, ``str or none``, ``tuple[int, int]`` ..."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return "any value"
    if origin in (typing.Union, types.UnionType):
        return " or ".join("none" if a is type(None) else _type_name(a) for a in args)
    if origin is tuple:
        return f"tuple[{', '.join('...' if a is Ellipsis else _type_name(a) for a in args)}]"
    if kind is bool:
        return "bool (true/false)"
    return getattr(kind, "__name__", str(kind))
