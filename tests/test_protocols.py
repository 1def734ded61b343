"""Evaluation protocols: subject independence, fold structure, and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from handcrafted_dfer.datasets import Clip, Dataset
from handcrafted_dfer.datasets.ckplus import load_ckplus
from handcrafted_dfer.datasets.protocols import check_protocol, get_folds, subject_fraction_folds
from handcrafted_dfer.errors import DatasetLayoutError, DferError

# Subject ids in natural order, written by hand (the oracle for the round-robin deal).
SUBJECTS_SORTED = ["S2", "S3", "S10", "S11", "S20", "S100", "S101", "S102", "S110", "S200",
                   "S201", "S300"]


def make_dataset(*, subjects=SUBJECTS_SORTED, clips_per_subject=5, n_classes=3, seed=0,
                 official=None):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(subjects) * clips_per_subject)  # clips not grouped by subject
    clips = []
    for k in order:
        s, j = divmod(int(k), clips_per_subject)
        label = (s + j) % n_classes
        clips.append(Clip(id=f"c{k}", path=f"/x/c{k}", label=f"l{label}", label_index=label,
                          subject=subjects[s] if subjects[s] is not None else None, dataset="t"))
    return Dataset("t", "/x", clips, tuple(f"l{i}" for i in range(n_classes)), official)


def assert_subject_independent(ds, folds):
    """The independent check: no subject on both sides; indices valid and disjoint."""
    subjects = np.array([c.subject for c in ds.clips], dtype=object)
    assert folds
    for train, test in folds:
        assert train.dtype == np.int64 and test.dtype == np.int64
        assert len(test) and len(train)
        assert not set(train) & set(test)
        assert set(train) | set(test) <= set(range(len(ds)))
        assert not set(subjects[train]) & set(subjects[test])


def test_loso_one_subject_per_fold():
    ds = make_dataset()
    folds = get_folds(ds, "loso")
    assert_subject_independent(ds, folds)
    assert len(folds) == len(SUBJECTS_SORTED)
    tested = [set(ds.clips[i].subject for i in te) for _, te in folds]
    assert all(len(t) == 1 for t in tested)
    assert sorted(t.pop() for t in tested) == sorted(SUBJECTS_SORTED)
    for train, test in folds:
        assert len(train) + len(test) == len(ds)


@pytest.mark.parametrize("n_splits", [2, 4, 5, 10])
def test_kfold_deals_sorted_subjects_round_robin(n_splits):
    ds = make_dataset()
    folds = get_folds(ds, "kfold", n_splits=n_splits)
    assert_subject_independent(ds, folds)
    assert len(folds) == n_splits
    for k, (train, test) in enumerate(folds):
        expected = set(SUBJECTS_SORTED[k::n_splits])
        assert {ds.clips[i].subject for i in test} == expected
        assert len(train) + len(test) == len(ds)
    all_test = np.concatenate([te for _, te in folds])
    assert sorted(all_test) == list(range(len(ds)))  # every clip tested exactly once


def test_kfold_default_is_ten():
    folds = get_folds(make_dataset(), "kfold")
    assert len(folds) == 10
    # 12 subjects dealt to 10 folds: folds 0 and 1 get two subjects, the others one
    assert [len(te) // 5 for _, te in folds] == [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_holdout_stratified_and_grouped(seed):
    ds = make_dataset(clips_per_subject=6)
    [(train, test)] = get_folds(ds, "holdout", test_size=0.25, seed=seed)
    assert_subject_independent(ds, [(train, test)])
    assert len(train) + len(test) == len(ds)
    n_test_subjects = len({ds.clips[i].subject for i in test})
    assert n_test_subjects == 3  # 12 subjects in 4 groups; each holds 2 clips of each class
    assert np.array_equal(np.bincount(ds.y[test], minlength=3), [6, 6, 6])
    again = get_folds(ds, "holdout", test_size=0.25, seed=seed)
    assert np.array_equal(again[0][1], test)


def test_official_folds_passed_through():
    folds = [(np.array([3, 0, 1]), np.array([2]))]
    ds = make_dataset(subjects=["a", "b"], clips_per_subject=2, official=folds)
    [(train, test)] = get_folds(ds, "official")
    assert list(train) == [0, 1, 3] and list(test) == [2]


def test_subject_fraction_folds_keep_tests_and_subsample_training_subjects():
    # 8 subjects with 3 clips each: two of class a, one of class b
    subjects = [f"S{k}" for k in range(8) for _ in range(3)]
    clips = [Clip(f"c{i}", f"p{i}", "a" if i % 3 else "b", int(i % 3 == 0), s, "toy")
             for i, s in enumerate(subjects)]
    ds = Dataset("toy", "/nowhere", clips, ("a", "b"))
    subj = np.array(subjects)
    folds = [(np.flatnonzero(~np.isin(subj, test)), np.flatnonzero(np.isin(subj, test)))
             for test in (["S0", "S1"], ["S2", "S3"])]
    # of 6 training subjects; 0.1 would keep one, but class b needs two clips: two subjects
    for fraction, expected in ((0.1, 2), (0.25, 2), (0.5, 3), (1.0, 6)):
        out = subject_fraction_folds(ds, folds, fraction, seed=3)
        for (train, test), (full_train, full_test) in zip(out, folds):
            np.testing.assert_array_equal(test, full_test)
            kept = set(subj[train])
            assert len(kept) == expected and kept <= set(subj[full_train])
            assert not kept & set(subj[test])
            # whole subjects: every clip of a kept subject is kept
            assert set(train) == set(np.flatnonzero(np.isin(subj, list(kept))))
    with pytest.raises(ValueError, match="fraction"):
        subject_fraction_folds(ds, folds, 0.0)


@pytest.mark.parametrize("seed", [0, 7])
def test_subject_fraction_of_kfold_folds(seed):
    # 12 subjects dealt to 4 folds: 9 training subjects per fold; every subject has 5 clips
    # covering the 3 classes (two of them twice), so no class forces extra subjects
    ds = make_dataset()
    subjects = np.array([c.subject for c in ds.clips])
    folds = get_folds(ds, "kfold", n_splits=4)
    for fraction, expected in ((1 / 3, 3), (2 / 3, 6), (1.0, 9)):
        out = subject_fraction_folds(ds, folds, fraction, seed=seed)
        assert len(out) == 4
        for (train, test), (full_train, full_test) in zip(out, folds):
            np.testing.assert_array_equal(test, full_test)
            kept = set(subjects[train])
            assert len(kept) == expected
            assert kept <= set(subjects[full_train]) and not kept & set(subjects[test])
            assert set(train) == set(np.flatnonzero(np.isin(subjects, list(kept))))
        assert_subject_independent(ds, out)
        # the same seed gives the same subsets
        again = subject_fraction_folds(ds, folds, fraction, seed=seed)
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(out, again))


def test_subject_fraction_needs_subject_ids():
    ds = make_dataset(subjects=["a", None])
    with pytest.raises(ValueError, match="subject id"):
        subject_fraction_folds(ds, [(np.array([0, 1, 2]), np.array([3]))], 0.5)


@pytest.mark.filterwarnings("ignore:The least populated class:UserWarning")
def test_protocols_on_ckplus(tmp_path):
    from test_ds_ckplus import build_ckplus

    ds = load_ckplus(build_ckplus(tmp_path), include_neutral=True)
    subjects = sorted({c.subject for c in ds.clips})
    cases = [("loso", {}), ("kfold", {"n_splits": 2}), ("holdout", {"test_size": 0.5})]
    for protocol, options in cases:
        assert_subject_independent(ds, get_folds(ds, protocol, **options))
    folds = get_folds(ds, "kfold", n_splits=2)
    assert {ds.clips[i].subject for i in folds[1][1]} == set(subjects[1::2])


class TestRefusals:
    def test_no_subjects(self):
        ds = make_dataset(subjects=[None] * 4, official=[(np.array([0]), np.array([1]))])
        for protocol in ("loso", "kfold", "holdout"):
            with pytest.raises(DferError, match="use protocol 'official'"):
                get_folds(ds, protocol)

    def test_some_subjects_missing(self):
        ds = make_dataset(subjects=["a", "b", None])
        with pytest.raises(DferError, match="no subject id for some"):
            get_folds(ds, "loso")

    def test_fewer_subjects_than_folds(self):
        ds = make_dataset(subjects=["a", "b", "c"])
        with pytest.raises(DferError, match="at least 10 subjects.*has 3"):
            get_folds(ds, "kfold")
        with pytest.raises(DferError, match="at least 2 subjects"):
            get_folds(make_dataset(subjects=["a"]), "loso")

    def test_no_official_split(self):
        with pytest.raises(DferError, match="no official split"):
            get_folds(make_dataset(), "official")

    @pytest.mark.parametrize("protocol, options, message", [
        ("lopo", {}, "unknown protocol"),
        ("kfold", {"k": 5}, "no option k"),
        ("loso", {"seed": 1}, "no option seed"),
        ("kfold", {"n_splits": 1}, "n_splits"),
        ("kfold", {"n_splits": 2.5}, "n_splits"),
        ("holdout", {"test_size": 0.8}, "test_size"),
        ("holdout", {"test_size": 0}, "test_size"),
    ])
    def test_bad_arguments(self, protocol, options, message):
        with pytest.raises(ValueError, match=message):
            get_folds(make_dataset(), protocol, **options)


def clips_of(rows) -> Dataset:
    """A dataset from (subject, label) rows; labels in order of first appearance."""
    labels = tuple(dict.fromkeys(label for _, label in rows))
    clips = [Clip(f"c{i}", f"/x/c{i}", label, labels.index(label), subject, "t")
             for i, (subject, label) in enumerate(rows)]
    return Dataset("t", "/x", clips, labels)


class TestCheckProtocol:
    """check_protocol decides from labels and subjects alone whether every fold can be scored."""

    def test_passes_and_returns_the_folds(self):
        ds = make_dataset()
        for protocol, options in (("loso", {}), ("kfold", {"n_splits": 4})):
            folds = check_protocol(ds, protocol, **options)
            expected = get_folds(ds, protocol, **options)
            assert len(folds) == len(expected)
            assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
                       for a, b in zip(folds, expected))

    def test_one_class(self):
        ds = clips_of([("S1", "anger"), ("S2", "anger")])
        with pytest.raises(DatasetLayoutError, match="at least 2 classes.*'anger'") as info:
            check_protocol(ds, "loso")
        assert info.value.path == "/x"

    @pytest.mark.parametrize("protocol, options", [("loso", {}), ("kfold", {"n_splits": 2})])
    def test_a_class_of_one_subject(self, protocol, options):
        rows = [(s, c) for s in ("S1", "S2", "S3") for c in ("anger", "fear")]
        ds = clips_of(rows + [("S2", "contempt"), ("S2", "contempt")])
        with pytest.raises(DatasetLayoutError, match="class 'contempt' has clips of only 1 "
                           r"subject \(S2\).*at least 2 subjects"):
            check_protocol(ds, protocol, **options)

    def test_two_subjects_dealt_to_one_fold(self):
        # 4 subjects dealt to 2 folds round-robin: S1, S3 -> fold 1; S2, S4 -> fold 2
        rows = [(s, c) for s in ("S1", "S2", "S3", "S4") for c in ("anger", "fear")]
        ds = clips_of(rows + [("S1", "contempt"), ("S3", "contempt")])
        check_protocol(ds, "loso")  # leaving one subject out keeps the other contempt subject
        with pytest.raises(DatasetLayoutError, match="fold 1 of 2 of protocol 'kfold'.*test side "
                           r"holds class 'contempt' \(2 clips\) and its training side none"):
            check_protocol(ds, "kfold", n_splits=2)

    def test_official_fold_without_a_class_in_training(self):
        ds = clips_of([(None, "anger"), (None, "fear"), (None, "anger"), (None, "fear"),
                       (None, "surprise")])
        ds.official_folds = [(np.array([0, 1]), np.array([2, 3])),
                             (np.array([0, 2]), np.array([1, 3]))]
        with pytest.raises(DatasetLayoutError, match="fold 2 of 2.*training side holds 1 class"):
            check_protocol(ds, "official")

    def test_protocol_errors_pass_through(self):
        with pytest.raises(DferError, match="at least 10 subjects"):
            check_protocol(make_dataset(subjects=["a", "b", "c"]), "kfold")
        with pytest.raises(ValueError, match="no option k"):
            check_protocol(make_dataset(), "kfold", k=3)
