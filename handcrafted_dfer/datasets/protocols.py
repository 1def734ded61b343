"""Evaluation protocols: which clips train and which test, fold by fold.

Every protocol returns a list of ``(train_indices, test_indices)`` into ``dataset.clips`` (sorted
int64 arrays), and no subject is ever on both sides of a fold:

- ``loso``: leave one subject out (one fold per subject).
- ``kfold``: subject-independent k folds (default 10): subjects sorted by id (digit runs by value)
  and dealt to the folds round-robin, the customary CK+ protocol, used for every dataset with
  subjects.
- ``official``: the dataset's own folds (DFEW and MAFW 5 folds, FERV39k and a manifest's split
  column one train/test split).
- ``holdout``: one stratified, subject-grouped split (scikit-learn ``StratifiedGroupKFold``),
  with about ``test_size`` of the clips in the test side.

:func:`check_protocol` returns the folds after checking, from the listing alone, that every fold
can be trained and scored. :func:`subject_fraction_folds` thins the training side of such folds to
a fraction of its subjects (learning curves), leaving the test sides as they are.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold

from ..errors import DatasetLayoutError, DferError
from ._layout import natural_key
from .base import Dataset

__all__ = ["PROTOCOLS", "get_folds", "check_protocol", "subject_fraction_folds"]

#: Protocol names :func:`get_folds` accepts, and the options each takes.
PROTOCOLS = {"loso": (), "kfold": ("n_splits",), "official": (), "holdout": ("test_size", "seed")}


def get_folds(dataset: Dataset, protocol: str, **options) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train and test indices of each fold of ``protocol`` on ``dataset``.

    Parameters
    ----------
    dataset : Dataset
    protocol : {"loso", "kfold", "official", "holdout"}
    **options
        ``kfold``: ``n_splits`` (int, default 10). ``holdout``: ``test_size`` (float in (0, 0.5],
        default 0.2) and ``seed`` (int, default 0). ``loso`` and ``official`` take none.

    Returns
    -------
    list of (ndarray, ndarray)
        Sorted int64 indices into ``dataset.clips``.

    Raises
    ------
    ValueError
        Unknown protocol or option, or an option out of range.
    DferError
        The protocol does not apply: no subject ids (e.g. DFEW), no official split, or fewer
        subjects than folds.
    """
    makers = {"loso": _loso, "kfold": _kfold, "official": _official, "holdout": _holdout}
    if protocol not in makers:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    unknown = sorted(set(options) - set(PROTOCOLS[protocol]))
    if unknown:
        allowed = ", ".join(PROTOCOLS[protocol]) or "none"
        raise ValueError(f"protocol {protocol!r} takes no option {', '.join(unknown)} "
                         f"(its options: {allowed})")
    folds = makers[protocol](dataset, **options)
    return [(np.sort(np.asarray(tr, dtype=np.int64)), np.sort(np.asarray(te, dtype=np.int64)))
            for tr, te in folds]


def check_protocol(dataset: Dataset, protocol: str,
                   **options) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds of ``protocol`` on ``dataset``, checked to be trainable and scorable.

    Everything is decided from the listing (labels and subjects), so a runner calls this before
    any pixel is read.

    Parameters
    ----------
    dataset : Dataset
    protocol : str
        As for :func:`get_folds`.
    **options
        As for :func:`get_folds`.

    Returns
    -------
    list of (ndarray, ndarray)
        The folds :func:`get_folds` returns.

    Raises
    ------
    DatasetLayoutError
        The dataset has fewer than 2 classes; under ``loso`` or ``kfold`` a class has clips of
        fewer than 2 subjects (it could never be both trained and tested); a fold's training side
        has fewer than 2 classes, or lacks a class its test side holds.
    DferError, ValueError
        As for :func:`get_folds` (the protocol does not apply, too few subjects, a bad option).
    """
    present = [dataset.labels[k] for k in np.unique(dataset.y)]
    if len(present) < 2:
        raise DatasetLayoutError(dataset.root, f"protocol {protocol!r} needs clips of at least 2 "
                                 f"classes; dataset {dataset.name!r} has "
                                 f"{', '.join(map(repr, present)) or 'none'}")
    folds = get_folds(dataset, protocol, **options)
    y = dataset.y
    if protocol in ("loso", "kfold"):
        subjects = dataset.subjects.astype(str)
        for k in np.unique(y):
            of_class = sorted(set(subjects[y == k]), key=natural_key)
            if len(of_class) < 2:
                raise DatasetLayoutError(
                    dataset.root, f"class {dataset.labels[k]!r} has clips of only 1 subject "
                    f"({of_class[0]}); protocol {protocol!r} tests every subject with a model "
                    f"trained on the others, so each class needs clips of at least 2 subjects "
                    f"(drop the class or add subjects)")
    for n, (train, test) in enumerate(folds, 1):
        trained = set(y[train].tolist())
        missing = sorted(set(y[test].tolist()) - trained)
        if len(trained) < 2 or missing:
            problem = (f"its training side holds {len(trained)} class" if len(trained) < 2 else
                       f"its test side holds class {dataset.labels[missing[0]]!r} "
                       f"({int(np.sum(y[test] == missing[0]))} clips) and its training side none")
            raise DatasetLayoutError(
                dataset.root, f"fold {n} of {len(folds)} of protocol {protocol!r} cannot be "
                f"scored: {problem}; expected every class of a test side among at least 2 "
                f"trained classes")
    return folds


def _subjects(dataset: Dataset, protocol: str, minimum: int) -> np.ndarray:
    """The subject ids, after checking that every clip has one and there are ``minimum``."""
    subjects = dataset.subjects
    if len(subjects) == 0 or any(s is None for s in subjects):
        official = " (use protocol 'official')" if dataset.official_folds else ""
        raise DferError(dataset.root, f"dataset {dataset.name!r} has no subject id for "
                        f"{'some' if any(s is not None for s in subjects) else 'its'} clips, so "
                        f"the subject-independent protocol {protocol!r} does not apply{official}")
    n = len(set(subjects))
    if n < minimum:
        raise DferError(dataset.root, f"protocol {protocol!r} needs at least {minimum} subjects; "
                        f"dataset {dataset.name!r} has {n}")
    return subjects.astype(str)


def _loso(dataset: Dataset):
    subjects = _subjects(dataset, "loso", 2)
    return list(LeaveOneGroupOut().split(np.zeros(len(subjects)), groups=subjects))


def _kfold(dataset: Dataset, *, n_splits: int = 10):
    if isinstance(n_splits, bool) or int(n_splits) != n_splits or n_splits < 2:
        raise ValueError(f"n_splits must be a whole number >= 2, got {n_splits!r}")
    subjects = _subjects(dataset, "kfold", int(n_splits))
    order = sorted(set(subjects), key=natural_key)
    fold_of = {s: k % int(n_splits) for k, s in enumerate(order)}
    assigned = np.array([fold_of[s] for s in subjects])
    return [(np.flatnonzero(assigned != k), np.flatnonzero(assigned == k))
            for k in range(int(n_splits))]


def _official(dataset: Dataset):
    if not dataset.official_folds:
        raise DferError(dataset.root, f"dataset {dataset.name!r} has no official split; use "
                        f"'loso', 'kfold' or 'holdout' (they need subject ids)")
    return dataset.official_folds


def _holdout(dataset: Dataset, *, test_size: float = 0.2, seed: int = 0):
    if not 0 < test_size <= 0.5:
        raise ValueError(f"test_size must be in (0, 0.5], got {test_size!r}")
    n_splits = max(2, round(1 / test_size))
    subjects = _subjects(dataset, "holdout", n_splits)
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [next(splitter.split(np.zeros(len(subjects)), dataset.y, groups=subjects))]


def subject_fraction_folds(dataset: Dataset, folds, fraction: float, *, seed: int = 0) -> list:
    """Folds whose training side keeps a random ``fraction`` of its subjects (test sides kept).

    Whole subjects are kept or dropped. At least one subject is kept, and subjects are added (in
    the same random order) until every class of the full training side has at least two clips
    (or all it had), which the classifiers' inner searches and calibration need.

    Parameters
    ----------
    dataset : Dataset
        Every clip must have a subject id.
    folds : list of (ndarray, ndarray)
        Train and test indices into ``dataset.clips``.
    fraction : float in (0, 1]
    seed : int
        With the fold's position and ``fraction``, seeds the order in which subjects are kept.

    Returns
    -------
    list of (ndarray, ndarray)
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction}")
    subjects = dataset.subjects
    if any(s is None for s in subjects):
        raise ValueError("a learning curve over subjects needs a subject id for every clip")
    y = dataset.y
    subjects = subjects.astype(str)
    out = []
    for k, (train, test) in enumerate(folds):
        train = np.asarray(train)
        rng = np.random.default_rng([seed, k, int(round(fraction * 1000))])
        order = rng.permutation(np.unique(subjects[train]))
        classes, counts = np.unique(y[train], return_counts=True)
        needed = np.minimum(counts, 2)
        n = max(1, int(round(fraction * len(order))))
        while True:
            kept = train[np.isin(subjects[train], order[:n])]
            have = np.array([np.sum(y[kept] == c) for c in classes])
            if np.all(have >= needed) or n >= len(order):
                break
            n += 1
        out.append((np.sort(kept), np.asarray(test)))
    return out
