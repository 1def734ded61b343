"""The layout rules of GUIDE §2 that a grep can check."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: An import of the command-line layer: ``from handcrafted_dfer.commands ...``, ``import
#: handcrafted_dfer.commands``, or (inside the package) ``from .commands`` / ``from ..commands``.
IMPORTS_COMMANDS = re.compile(
    r"^\s*(from\s+(handcrafted_dfer\.commands|\.+commands)\b|import\s+handcrafted_dfer\.commands)",
    re.MULTILINE)


def _python_files(*folders):
    for folder in folders:
        yield from (ROOT / folder).rglob("*.py")


def test_nothing_outside_the_cli_imports_commands():
    """commands/ only parses arguments and prints: no library module, test, benchmark or
    experiment imports from it (cli.py loads the subcommands by name)."""
    offenders = []
    for path in _python_files("handcrafted_dfer", "tests", "benchmarks", "experiments"):
        relative = path.relative_to(ROOT)
        if relative.parts[:2] == ("handcrafted_dfer", "commands"):
            continue
        if IMPORTS_COMMANDS.search(path.read_text(encoding="utf-8")):
            offenders.append(str(relative))
    assert offenders == []


def test_the_grep_sees_an_import_of_commands():
    """The pattern above matches the import forms it must catch (so the test can fail)."""
    for line in ("from handcrafted_dfer.commands.predict import predict_video",
                 "from ..commands import demo", "import handcrafted_dfer.commands.train",
                 "    from handcrafted_dfer.commands import preprocess as command"):
        assert IMPORTS_COMMANDS.search(line), line
    assert not IMPORTS_COMMANDS.search('importlib.import_module(f"handcrafted_dfer.commands.x")')


def test_library_never_switches_the_matplotlib_backend():
    """Figures use matplotlib's Figure API: no pyplot state, no matplotlib.use in the library."""
    for path in _python_files("handcrafted_dfer"):
        text = path.read_text(encoding="utf-8")
        assert "matplotlib.use(" not in text, path
        assert "import matplotlib.pyplot" not in text and "from matplotlib import pyplot" not in text, path


def test_one_spelling_of_normalize():
    """The package spells it one way (``normalize``, ``HistogramNormalizer``, "normalization")."""
    british = "normal" + "is"  # split, so that this file does not match itself
    for path in _python_files("handcrafted_dfer", "tests", "benchmarks", "experiments"):
        assert british not in path.read_text(encoding="utf-8").lower(), path
