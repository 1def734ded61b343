"""Loader options: typed parsing of command-line text, unknown keys refused before any work."""

from __future__ import annotations

import typing

import pytest

from handcrafted_dfer.cli import build_parser
from handcrafted_dfer.datasets import DATASETS, load_dataset, loader, loader_options
from handcrafted_dfer.datasets._options import parse_options
from handcrafted_dfer.datasets.synthetic import load_synthetic
from handcrafted_dfer.errors import DatasetLayoutError
from test_ds_ckplus import SPEC, build_ckplus

N_LABELLED = sum(code is not None for seqs in SPEC.values() for code in seqs.values())


@pytest.fixture
def ckplus(tmp_path):
    return build_ckplus(tmp_path)


def from_cli(text: str) -> dict:
    """What ``--dataset-option TEXT`` hands to :func:`load_dataset`."""
    args = build_parser().parse_args(["evaluate", "--dataset", "ckplus", "--dataset-option", text,
                                      "--report", "r.json"])
    return dict(args.dataset_options)


@pytest.mark.parametrize("text", ["include_neutral=False", "include_neutral=false",
                                  "include_neutral=FALSE", "include_neutral=0",
                                  "include_neutral=no", "include_neutral=off"])
def test_false_spellings_are_false(ckplus, text):
    ds = load_dataset("ckplus", ckplus, **from_cli(text))
    assert len(ds) == N_LABELLED and "neutral" not in ds.labels


@pytest.mark.parametrize("text", ["include_neutral=True", "include_neutral=true",
                                  "include_neutral=1", "include_neutral=yes"])
def test_true_spellings_are_true(ckplus, text):
    ds = load_dataset("ckplus", ckplus, **from_cli(text))
    assert len(ds) == 2 * N_LABELLED and ds.labels[0] == "neutral"


def test_numbers_from_text(ckplus):
    ds = load_dataset("ckplus", ckplus, include_neutral="true", neutral_frames="2")
    assert {c.extra["frames"] for c in ds.clips if c.label == "neutral"} == {(0, 2)}
    ds = load_dataset("ckplus", ckplus, include_neutral=True, neutral_frames=2.0)
    assert {c.extra["frames"] for c in ds.clips if c.label == "neutral"} == {(0, 2)}


@pytest.mark.parametrize("options, message", [
    (dict(include_neutral="maybe"), r"include_neutral='maybe': expected bool"),
    (dict(include_neutral=2), r"include_neutral=2: expected bool"),
    (dict(neutral_frames="three"), r"neutral_frames='three': expected int"),
    (dict(neutral_frames=2.5), r"neutral_frames=2.5: expected int"),
    (dict(neutral_frames=True), r"neutral_frames=True: expected int"),
    (dict(name=["a"]), r"name=\['a'\]: expected str"),
])
def test_wrong_types(ckplus, options, message):
    with pytest.raises(ValueError, match=message):
        load_dataset("ckplus", ckplus, **options)


def test_unknown_key_lists_the_options_before_any_work(tmp_path):
    missing = tmp_path / "absent"  # listing it would be a DatasetLayoutError
    with pytest.raises(ValueError, match="dataset 'ckplus' has no option 'include_netural'; its "
                       r"options: include_neutral \(bool.*default False\); neutral_frames "
                       r"\(int, default 3\); name \(str, default 'ckplus'\)"):
        load_dataset("ckplus", missing, include_netural=False)
    with pytest.raises(ValueError, match="has no option 'source'; its options: none"):
        load_dataset("ferv39k", missing, source="video")


def test_optional_and_tuple_types():
    assert parse_options(load_synthetic, {"frames": "6, 8", "progress": "0", "seed": "3"},
                         dataset="synthetic") == {"frames": (6, 8), "progress": False, "seed": 3}
    assert parse_options(load_synthetic, {"frames": [6, 8]}, dataset="synthetic") == \
        {"frames": (6, 8)}
    with pytest.raises(ValueError, match=r"frames='6': expected tuple\[int, int\]"):
        parse_options(load_synthetic, {"frames": "6"}, dataset="synthetic")
    folder = loader("folder")
    assert parse_options(folder, {"faces": "none", "clip_pattern": "^(S\\d+)_"},
                         dataset="folder") == {"faces": None, "clip_pattern": "^(S\\d+)_"}
    assert parse_options(folder, {"name": 2024}, dataset="folder") == {"name": "2024"}


def test_every_loader_option_is_annotated():
    # parse_options converts by annotation: an option without one would pass text through
    for name in DATASETS:
        options = loader_options(loader(name))
        assert all(kind is not typing.Any for kind, _ in options.values()), name


def test_one_class_is_refused(tmp_path):
    root = build_ckplus(tmp_path, {"S001": {"001": 3}, "S002": {"001": 3}})
    with pytest.raises(DatasetLayoutError, match="at least 2 classes.*only class 'disgust'"):
        load_dataset("ckplus", root)
