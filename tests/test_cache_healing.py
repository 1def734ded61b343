"""The feature store heals itself: damaged entries are logged, deleted and recomputed; temporary
files of killed writers are removed; files follow the umask; ``dfer cache info|verify|clear``."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import manifest_rows, write_manifest
from handcrafted_dfer.cache import TEMPORARY_PREFIX
from handcrafted_dfer.cli import main
from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.features.store import FeatureStore


def _clip(seed=0, n=4, size=8):
    rng = np.random.default_rng(seed)
    return AlignedClip(frames=rng.integers(0, 256, (n, size, size), dtype=np.uint8),
                       landmarks=rng.uniform(0, size, (n, 68, 2)).astype(np.float32),
                       valid=np.ones(n, bool), fps=25.0, source=f"/videos/{seed}.mp4")


@pytest.fixture
def store(tmp_path):
    """A store holding one clip (with warnings), one failure and one feature row."""
    store = FeatureStore(tmp_path / "cache")
    store.save_clip("clipkey", _clip(), warnings=["UserWarning: stretched"])
    store.save_failure("failkey", "NoFaceError: no face")
    store.save_features("lbptop-0123", "rowkey", np.arange(5.0))
    return store


def _half(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _garbage_zip_row(path):
    # a sound archive whose row is not a finite float64 vector
    with open(path, "wb") as file:
        np.savez(file, row=np.array([1.0, np.nan, 3.0, 4.0, 5.0]))


#: (entry, damage, how the store reads it again)
DAMAGES = {
    "clip cut in half": ("clips/clipkey.npz", _half, lambda s: s.load_clip("clipkey")),
    "empty clip": ("clips/clipkey.npz", lambda p: p.write_bytes(b""),
                   lambda s: s.load_clip("clipkey")),
    "clip of garbage bytes": ("clips/clipkey.npz", lambda p: p.write_bytes(os.urandom(300)),
                              lambda s: s.load_clip("clipkey")),
    "garbage clip warnings": ("clips/clipkey.warnings.json", lambda p: p.write_bytes(b"\x00\xff{"),
                              lambda s: s.load_clip("clipkey")),
    "feature row cut in half": ("features/lbptop-0123/rowkey.npz", _half,
                                lambda s: s.load_features("lbptop-0123", "rowkey")),
    "empty feature row": ("features/lbptop-0123/rowkey.npz", lambda p: p.write_bytes(b""),
                          lambda s: s.load_features("lbptop-0123", "rowkey")),
    "feature row of garbage bytes": ("features/lbptop-0123/rowkey.npz",
                                     lambda p: p.write_bytes(os.urandom(300)),
                                     lambda s: s.load_features("lbptop-0123", "rowkey")),
    "feature row holding NaN": ("features/lbptop-0123/rowkey.npz", _garbage_zip_row,
                                lambda s: s.load_features("lbptop-0123", "rowkey")),
    "garbage failure file": ("clips/failkey.failed.json",
                             lambda p: p.write_bytes(b"\x89PNG\x00\x01garbage"),
                             lambda s: s.load_clip("failkey")),
    "failure file without a reason": ("clips/failkey.failed.json",
                                      lambda p: p.write_text('{"reason": 3}'),
                                      lambda s: s.load_clip("failkey")),
    "empty failure file": ("clips/failkey.failed.json", lambda p: p.write_bytes(b""),
                           lambda s: s.load_clip("failkey")),
}


class TestDamagedEntries:
    @pytest.mark.parametrize("case", DAMAGES)
    def test_is_logged_deleted_and_reads_as_missing(self, store, case, caplog):
        entry, damage, read = DAMAGES[case]
        path = store.root / entry
        assert path.is_file()
        damage(path)
        reopened = FeatureStore(store.root)
        with caplog.at_level(logging.WARNING, logger="handcrafted_dfer.features.store"):
            assert read(reopened) is None  # nothing trusted, nothing raised
        assert not path.exists()
        assert [h["path"] for h in reopened.healed][-1] == str(
            store.root / ("clips/clipkey.npz" if "warnings" in entry else entry))
        assert str(path) in caplog.text and "recomputed" in caplog.text

    def test_sound_entries_read_back(self, store):
        clip = FeatureStore(store.root).load_clip("clipkey")
        np.testing.assert_array_equal(clip.frames, _clip().frames)
        assert store.clip_warnings("clipkey") == ["UserWarning: stretched"]
        assert store.load_clip("failkey") == "NoFaceError: no face"
        np.testing.assert_array_equal(store.load_features("lbptop-0123", "rowkey"), np.arange(5.0))
        assert store.load_features("lbptop-0123", "rowkey", n_features=6) is None  # wrong width


class TestTemporaryFiles:
    def _temporary(self, folder, name, *, age_s=0.0):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")  # what a kill -9 between create and write leaves
        if age_s:
            stamp = time.time() - age_s
            os.utime(path, (stamp, stamp))
        return path

    def test_a_dead_writers_file_goes_at_once_a_live_ones_stays(self, tmp_path):
        host = socket.gethostname().replace(".", "_")
        finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                  capture_output=True, text=True, check=True)
        dead = int(finished.stdout)
        alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            folder = tmp_path / "cache" / "features" / "lbptop-0"
            killed = self._temporary(folder, f"{TEMPORARY_PREFIX}k.{host}.{dead}.abcd1234.npz")
            running = self._temporary(folder,
                                      f"{TEMPORARY_PREFIX}k.{host}.{alive.pid}.abcd1234.npz")
            elsewhere = self._temporary(folder,
                                        f"{TEMPORARY_PREFIX}k.otherhost.{dead}.abcd1234.npz")
            old = self._temporary(folder, f"{TEMPORARY_PREFIX}k.otherhost.1.abcd1234.npz",
                                  age_s=2 * 3600)
            FeatureStore(tmp_path / "cache")
            assert not killed.exists() and not old.exists()
            assert running.exists() and elsewhere.exists()  # a writer may still own them
        finally:
            alive.kill()
            alive.wait()


    def test_a_write_in_progress_is_not_an_entry_and_verify_leaves_it(self, tmp_path):
        """A live writer's half-written file has an entry's suffix: ``entries``, ``info`` and
        ``verify`` (which deletes damaged entries) must not take it for a damaged entry."""
        host = socket.gethostname().replace(".", "_")
        store = FeatureStore(tmp_path / "cache")
        store.save_clip("done", _clip())
        clips = tmp_path / "cache" / "clips"
        writing = clips / f"{TEMPORARY_PREFIX}next.{host}.{os.getpid()}.abcd1234.npz"
        writing.write_bytes((clips / "done.npz").read_bytes()[:100])  # half of a clip entry
        assert [p.name for _, p in store.entries()] == ["done.npz"]
        assert store.info()["clip"]["entries"] == 1 and store.info()["temporary"]["entries"] == 1
        assert store.verify() == {"checked": 1, "healed": []}
        assert writing.exists()


@pytest.fixture(scope="module")
def evaluated(synthetic_faces, tmp_path_factory):
    """``dfer evaluate`` run once under umask 002 on 6 clips (3 subjects x 2 classes); its
    folder, arguments, report and the cache files it wrote."""
    base = tmp_path_factory.mktemp("healing")
    labels = (synthetic_faces.labels[4], synthetic_faces.labels[6])  # happiness, surprise
    manifest = write_manifest(base / "clips.csv", manifest_rows(
        synthetic_faces, labels, subjects=("S901", "S902", "S903")))
    args = ["evaluate", "--dataset", "manifest", "--root", str(manifest), "--features", "lbptop",
            "--classifier", "linear-svm", "--cache", str(base / "cache"), "--quiet"]
    previous = os.umask(0o002)
    try:
        assert main(args + ["--report", str(base / "first.json")]) == 0
    finally:
        os.umask(previous)
    report = json.loads((base / "first.json").read_text())
    files = sorted(p for p in (base / "cache").rglob("*") if p.is_file())
    return base, args, report, files


def test_files_follow_the_umask(evaluated):
    base, _, _, files = evaluated
    written = files + sorted(base.glob("first*"))
    assert len(written) >= 12 + 4  # 6 clips, 6 rows; json, md, toml, png
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in written}
    assert set(modes.values()) == {oct(0o664)}, modes


def test_a_run_heals_every_kind_of_damage_and_gets_the_same_result(evaluated):
    """Every entry of the cache cut in half, emptied or overwritten with garbage, plus 0-byte
    temporary files of a killed run: the next run logs them, recomputes and reports the same."""
    base, args, first, files = evaluated
    entries = [p for p in files if not p.name.startswith(TEMPORARY_PREFIX)]
    damages = (_half, lambda p: p.write_bytes(b""), lambda p: p.write_bytes(os.urandom(64)))
    for k, path in enumerate(entries):
        damages[k % 3](path)
    stale = base / "cache" / "clips" / f"{TEMPORARY_PREFIX}x.killedhost.1.abcd1234.npz"
    stale.write_bytes(b"")
    stamp = time.time() - 2 * 3600
    os.utime(stale, (stamp, stamp))
    assert main(args + ["--report", str(base / "second.json")]) == 0
    second = json.loads((base / "second.json").read_text())
    assert second["results"][0]["confusion"] == first["results"][0]["confusion"]
    assert second["results"][0]["accuracy"] == first["results"][0]["accuracy"]
    assert second["cache"]["clips_computed"] == 6 and second["cache"]["feature_rows_computed"] == 6
    assert {h["path"] for h in second["cache"]["healed"]} == {
        str(p) for p in entries if p.parent.name == "clips"}
    assert not stale.exists()
    messages = " ".join(w["message"] for w in second["warnings"])
    assert "damaged cache entry" in messages  # feature rows healed, recorded in the report


class TestCacheCommand:
    def _run(self, capsys, *argv):
        status = main(["cache", *argv])
        out = capsys.readouterr()
        return status, out.out, out.err

    def test_info_verify_clear(self, store, capsys):
        root = str(store.root)
        status, out, _ = self._run(capsys, "info", "--cache", root)
        assert status == 0
        counts = {line.split()[0]: int(line.split()[-3])
                  for line in out.splitlines()[1:] if line.strip()}
        assert counts["aligned"] == 1 and counts["recorded"] == 1 and counts["feature"] == 1
        assert counts["clip"] == 1 and counts["total"] == 4

        (store.root / "features/lbptop-0123/rowkey.npz").write_bytes(b"PK\x03\x04broken")
        status, out, _ = self._run(capsys, "verify", "--cache", root)
        assert status == 0
        assert "4 entries checked, 1 damaged and deleted" in out
        assert "rowkey.npz" in out
        assert not (store.root / "features/lbptop-0123/rowkey.npz").exists()

        old = store.root / "clips/failkey.failed.json"
        stamp = time.time() - 10 * 86400
        os.utime(old, (stamp, stamp))
        status, out, _ = self._run(capsys, "clear", "--older-than", "7", "--cache", root)
        assert status == 0 and "deleted 1 entries" in out
        assert not old.exists() and (store.root / "clips/clipkey.npz").exists()
        status, out, _ = self._run(capsys, "clear", "--cache", root)
        assert status == 0 and "deleted 2 entries" in out
        assert not [p for p in store.root.rglob("*") if p.is_file()]

    def test_bad_arguments(self, tmp_path, capsys):
        status, _, err = self._run(capsys, "verify", "--older-than", "3", "--cache",
                                   str(tmp_path))
        assert status == 2 and "--older-than goes with clear" in err
        not_a_folder = tmp_path / "file"
        not_a_folder.write_text("x")
        status, _, err = self._run(capsys, "info", "--cache", str(not_a_folder))
        assert status == 2 and "expected a folder for the cache" in err
        assert len(err.strip().splitlines()) == 1
        with pytest.raises(SystemExit):
            main(["cache", "clear", "--older-than", "-1"])
