"""Killing a ``--jobs 2`` run: no worker outlives it by more than 10 s (SIGKILL and SIGTERM);
SIGTERM exits 130 with a message, and a rerun resumes from the entries already written."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

import handcrafted_dfer
from conftest import manifest_rows, write_manifest
from handcrafted_dfer.features.store import FeatureStore
from handcrafted_dfer.parallel import usable_cores

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not pathlib.Path("/proc/self/stat").exists(),
                       reason="finds the worker processes through /proc (Linux)"),
    pytest.mark.skipif(usable_cores() < 2,
                       reason="--jobs 2 is capped to 1 on a one-core machine: no workers"),
]

#: The longest a worker may outlive the command (the issue's bound).
GRACE_S = 10.0


def _stat(pid: int):
    """(parent pid, state, start time) of a process, or None when it is gone."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[0], int(fields[19])


def _descendants(pid: int) -> dict:
    """{pid: start time} of every process below ``pid`` (workers, their helpers)."""
    parents = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            parents[int(entry.name)] = stat
    found, frontier = {}, {pid}
    while frontier:
        children = {p for p, (ppid, _, _) in parents.items() if ppid in frontier and p not in found}
        found.update({p: parents[p][2] for p in children})
        frontier = children
    return found


def _survivors(processes: dict) -> list:
    """The processes of ``processes`` still running (not exited, not zombies, not a reused pid)."""
    alive = []
    for pid, start in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[1] != "Z" and stat[2] == start:
            alive.append(pid)
    return alive


@pytest.fixture(scope="module")
def manifest(synthetic_faces, tmp_path_factory):
    """All 28 clips of the small synthetic set (4 subjects x 7 classes)."""
    return write_manifest(tmp_path_factory.mktemp("interrupts") / "clips.csv",
                          manifest_rows(synthetic_faces, synthetic_faces.labels))


def _start(manifest, cache, report, stderr):
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(pathlib.Path(handcrafted_dfer.__file__).parents[1]),
                                          os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-m", "handcrafted_dfer.cli", "evaluate", "--dataset", "manifest",
         "--root", str(manifest), "--features", "lbptop", "--classifier", "rf", "--jobs", "2",
         "--cache", str(cache), "--report", str(report), "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def _clip_entries(cache) -> set:
    """The aligned-clip entries of the cache (not the temporary files of unfinished writes)."""
    return {path for kind, path in FeatureStore(cache).entries() if kind == "clip"}


def _kill_mid_preprocessing(manifest, tmp_path, signum):
    """Start a run, wait for its first aligned clip, send ``signum``; returns the process, its
    workers, the entries written when it was killed, and stderr's file."""
    cache = tmp_path / "cache"
    err = tmp_path / "stderr.txt"
    with open(err, "w") as stderr:
        process = _start(manifest, cache, tmp_path / "r.json", stderr)
    deadline = time.monotonic() + 120
    while not _clip_entries(cache):
        assert process.poll() is None, err.read_text()
        assert time.monotonic() < deadline, "no clip was written in 120 s"
        time.sleep(0.05)
    workers = _descendants(process.pid)
    assert len(workers) >= 2, workers  # two loky workers (and their resource trackers)
    os.kill(process.pid, signum)
    return process, workers, cache, err


def _assert_no_survivor(workers):
    deadline = time.monotonic() + GRACE_S
    while (alive := _survivors(workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert alive == [], f"still running {GRACE_S} s after the command died: {alive}"
    finally:
        for pid in alive:  # never leave them behind, even when the test fails
            os.kill(pid, signal.SIGKILL)


def test_kill_9_leaves_no_worker_and_sound_entries(manifest, tmp_path):
    process, workers, cache, _ = _kill_mid_preprocessing(manifest, tmp_path, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    _assert_no_survivor(workers)
    written = _clip_entries(cache)
    assert written
    assert FeatureStore(cache).verify()["healed"] == []  # whole entries or none
    time.sleep(1.5)  # nothing writes after its workers are gone
    assert _clip_entries(cache) == written


def test_sigterm_exits_130_with_a_message_and_a_rerun_resumes(manifest, tmp_path):
    process, workers, cache, err = _kill_mid_preprocessing(manifest, tmp_path, signal.SIGTERM)
    assert process.wait(timeout=30) == 130
    assert ("dfer evaluate: terminated (SIGTERM); finished work is kept, run again to resume"
            in err.read_text())
    _assert_no_survivor(workers)
    kept = {p.stem for p in _clip_entries(cache)}
    assert kept
    # a rerun reads every entry the killed run finished instead of preprocessing it again
    from handcrafted_dfer.config import PreprocessConfig, RunOptions
    from handcrafted_dfer.datasets import load_dataset
    from handcrafted_dfer.datasets.base import Dataset
    from handcrafted_dfer.evaluate.clips import prepare_clips

    dataset = load_dataset("manifest", manifest)
    config = PreprocessConfig().for_dataset(dataset)  # as the run resolved it
    done = [c for c in dataset.clips if FeatureStore.clip_key(c.source, config) in kept]
    assert len(done) == len(kept)
    prepared = prepare_clips(Dataset(dataset.name, dataset.root, done, dataset.labels), config,
                             RunOptions(cache_dir=str(cache)))
    assert prepared.counts == {"clips_computed": 0, "clips_loaded": len(kept)}
    assert all(c is not None for c in prepared.clips)
