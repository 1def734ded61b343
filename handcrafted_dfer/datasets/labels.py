"""The canonical label vocabulary every loader maps its own class names to.

Datasets spell their classes differently (CK+ ``happy``, DFEW code 1 "happy", FERV39k ``Happy``,
MAFW ``happiness``). Every loader returns :data:`CANONICAL_LABELS` names in ``Dataset.labels`` and
``Clip.label``, so that a model trained on one dataset can be scored on another by name.

The fixed-vocabulary loaders (CK+, DFEW, MAFW, FERV39k) map their documented spellings exactly.
The ``folder`` and ``manifest`` loaders map any spelling :func:`canonical_label` knows and keep
other class names as written (a dataset of the user's own classes).
"""

from __future__ import annotations

__all__ = ["CANONICAL_LABELS", "BASIC_LABELS", "SPELLINGS", "canonical_label", "harmonise",
           "common_labels"]

#: The seven basic emotions and neutral, then MAFW's three extra classes.
CANONICAL_LABELS = ("anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness",
                    "surprise", "anxiety", "helplessness", "disappointment")

#: Ekman's six basic emotions (the "6 classes" protocol of CK+).
BASIC_LABELS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")

#: Canonical name -> the other spellings :func:`canonical_label` accepts (compared in lower case).
SPELLINGS = {
    "anger": ("angry",),
    "contempt": ("contemptuous",),
    "disgust": ("disgusted",),
    "fear": ("fearful", "afraid", "scared"),
    "happiness": ("happy", "joy"),
    "neutral": (),
    "sadness": ("sad",),
    "surprise": ("surprised",),
    "anxiety": ("anxious",),
    "helplessness": ("helpless",),
    "disappointment": ("disappointed",),
}

_LOOKUP = {spelling: name for name, others in SPELLINGS.items() for spelling in (name, *others)}


def canonical_label(name: str) -> str | None:
    """The canonical name of a class spelling, or None when the spelling is not known.

    Parameters
    ----------
    name : str
        A class name as a dataset writes it; letter case and surrounding space are ignored
        (``"Happy"``, ``"happiness"``, ``" SAD "``).

    Returns
    -------
    str or None
        One of :data:`CANONICAL_LABELS`, or None.
    """
    return _LOOKUP.get(name.strip().lower())


def harmonise(names) -> dict[str, str]:
    """Each class name as written -> its canonical name, or the name itself when not known.

    Parameters
    ----------
    names : iterable of str
        The distinct class names of one dataset, as its files or folders write them.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        When two different names mean one class (``happy`` and ``Happiness``); the message names
        both.
    """
    mapping: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for name in names:
        label = canonical_label(name) or name
        if spelled.setdefault(label, name) != name:
            raise ValueError(f"classes {spelled[label]!r} and {name!r} both mean {label!r}; "
                             f"keep one spelling")
        mapping[name] = label
    return mapping


def common_labels(*label_sets) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The classes every one of ``label_sets`` has, and those that some lack.

    Parameters
    ----------
    *label_sets : sequence of str
        ``Dataset.labels`` of the datasets to compare (a training and a test set).

    Returns
    -------
    kept : tuple of str
        Classes in all of them, in the order of the first.
    dropped : tuple of str
        Classes in some but not all, in the order of first appearance.
    """
    if not label_sets:
        return (), ()
    everywhere = set(label_sets[0]).intersection(*map(set, label_sets[1:]))
    seen = list(dict.fromkeys(label for labels in label_sets for label in labels))
    return (tuple(c for c in label_sets[0] if c in everywhere),
            tuple(c for c in seen if c not in everywhere))
