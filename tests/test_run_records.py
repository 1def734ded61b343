"""What a run records instead of printing: library warnings, stretched short clips, and the
frame that made a clip unreadable."""

from __future__ import annotations

import json
import pathlib
import shutil
import warnings

import pytest

from conftest import manifest_rows, write_manifest
from handcrafted_dfer.cli import main


@pytest.fixture(scope="module")
def run(synthetic_faces, tmp_path_factory):
    """``dfer evaluate`` (rf, LOSO) on happiness from 4 subjects, surprise from 2 (a small set
    on which scikit-learn warns), plus a two-frame clip and a clip with one garbage frame; run
    twice on the same cache. Yields the two reports, the warnings that escaped and stderr."""
    base = tmp_path_factory.mktemp("records")
    happy, surprise = synthetic_faces.labels[4], synthetic_faces.labels[6]
    rows = manifest_rows(synthetic_faces, (happy,)) + manifest_rows(
        synthetic_faces, (surprise,), subjects=("S901", "S902"))
    source = sorted(p for p in pathlib.Path(rows[0][0]).iterdir()
                    if p.suffix == ".png")
    short = base / "short"
    short.mkdir()
    for frame in source[:2]:
        shutil.copy(frame, short)
    broken = base / "broken"
    broken.mkdir()
    for frame in source:
        shutil.copy(frame, broken)
    bad_frame = broken / source[len(source) // 2].name
    bad_frame.write_bytes(b"\x89PNG\r\n\x1a\n but the rest is garbage")
    rows += [(str(short), happy, "S903"), (str(broken), happy, "S904")]
    manifest = write_manifest(base / "clips.csv", rows)
    argv = ["evaluate", "--dataset", "manifest", "--root", str(manifest), "--features", "lbptop",
            "--classifier", "rf", "--frames", "8", "--cache", str(base / "cache"), "--quiet"]
    reports, escaped = [], []
    for name in ("first", "second"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert main(argv + ["--report", str(base / f"{name}.json")]) == 0
        escaped += [str(w.message) for w in caught]
        reports.append(json.loads((base / f"{name}.json").read_text()))
    return {"reports": reports, "escaped": escaped, "bad_frame": bad_frame, "short": short}


def _messages(report) -> str:
    return "\n".join(w["message"] for w in report["warnings"])


def test_scikit_learn_warnings_go_into_the_report_not_to_the_terminal(run):
    first = run["reports"][0]
    assert "The least populated class in y has only 1 members" in _messages(first)
    assert all(w["count"] >= 1 for w in first["warnings"])
    assert run["escaped"] == []


def test_a_two_frame_clip_is_stretched_with_a_warning_on_every_run(run):
    for report in run["reports"]:  # the second run reads the clip from the cache
        assert f"{run['short'].name}: 2 source frame(s) stretched to 8" in _messages(report)
        assert report["n_clips"] == 7  # the stretched clip is used, and said to be


def test_a_skipped_clips_reason_names_the_unreadable_frame(run):
    for report in run["reports"]:
        (skipped,) = report["skipped"]
        assert skipped["path"] == str(run["bad_frame"].parent)
        assert str(run["bad_frame"]) in skipped["reason"]
        assert "expected a readable image" in skipped["reason"]
