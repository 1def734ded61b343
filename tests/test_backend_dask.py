"""``--backend dask``: a real LocalCluster of 2 worker processes runs the clip stages and gives the
report a loky run gives; a cache folder the workers cannot write is refused before any work."""

from __future__ import annotations

import json

import pytest

from conftest import manifest_rows, write_manifest
from handcrafted_dfer.cli import main
from handcrafted_dfer.config import RunOptions
from handcrafted_dfer.distributed import backend_session
from handcrafted_dfer.errors import DferError

distributed = pytest.importorskip("distributed", reason="needs the distributed extra "
                                  "(pip install 'handcrafted_dfer[distributed]')")

pytestmark = pytest.mark.slow

#: Report entries that measure the run rather than its result.
_RUN_ONLY = ("wall_seconds", "clips_seconds", "environment")
_RESULT_TIMINGS = ("feature_seconds", "fit_seconds", "fit_seconds_total", "predict_ms_per_clip",
                   "peak_memory_mb")


def _result(report: dict) -> dict:
    """A report without its timings, environment and cache folder."""
    kept = {k: v for k, v in report.items() if k not in _RUN_ONLY}
    kept["cache"] = {k: v for k, v in report["cache"].items() if k != "dir"}
    kept["results"] = [{k: v for k, v in r.items() if k not in _RESULT_TIMINGS}
                       for r in report["results"]]
    return kept


@pytest.fixture(scope="module")
def setup(synthetic_faces, tmp_path_factory):
    """8 clips (4 subjects x 2 classes), and the loky report of lbptop+hog3d-rf on them."""
    base = tmp_path_factory.mktemp("dask")
    labels = (synthetic_faces.labels[4], synthetic_faces.labels[6])
    manifest = write_manifest(base / "clips.csv", manifest_rows(synthetic_faces, labels))

    def evaluate(name, *extra):
        argv = ["evaluate", "--dataset", "manifest", "--root", str(manifest), "--features",
                "lbptop,hog3d", "--classifier", "rf", "--seed", "3", "--cache",
                str(base / f"cache_{name}"), "--report", str(base / f"{name}.json"), "--quiet",
                *extra]  # a later --cache wins
        assert main(argv) == 0
        return json.loads((base / f"{name}.json").read_text())

    return evaluate, evaluate("loky", "--jobs", "2"), base


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        yield cluster


def test_a_running_cluster_does_the_work_and_gives_the_loky_report(setup, cluster):
    """``--scheduler ADDRESS`` of a LocalCluster of 2 worker processes: its workers preprocess
    and describe every clip (writing their own cache entries), and the report is the loky one."""
    evaluate, loky, _ = setup
    with distributed.Client(cluster.scheduler_address) as client:
        workers = set(client.scheduler_info()["workers"])
        with distributed.get_task_stream(client) as stream:
            report = evaluate("scheduler", "--backend", "dask", "--scheduler",
                              cluster.scheduler_address)
    assert len(workers) == 2 and {task["worker"] for task in stream.data} == workers
    assert report["environment"]["backend"] == "dask"
    assert report["cache"]["clips_computed"] == 8 and report["cache"]["feature_rows_computed"] == 16
    assert _result(report) == _result(loky)


def test_without_an_address_a_local_cluster_of_jobs_workers_runs_it(setup):
    """``--backend dask --jobs 2`` starts (and closes) its own LocalCluster; on the loky run's
    cache the report is the loky one."""
    evaluate, loky, base = setup
    report = evaluate("local_cluster", "--backend", "dask", "--jobs", "2", "--cache",
                      str(base / "cache_loky"))
    assert report["environment"]["backend"] == "dask"
    assert report["cache"]["clips_loaded"] == 8 and report["cache"]["feature_rows_computed"] == 0
    expected = _result(loky)
    expected["cache"] = {**expected["cache"], "clips_computed": 0, "clips_loaded": 8,
                         "feature_rows_computed": 0}
    assert _result(report) == expected


def test_a_cache_the_workers_cannot_write_is_refused(cluster, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    run = RunOptions(cache_dir=str(blocker / "cache"), backend="dask",
                     scheduler=cluster.scheduler_address)
    with pytest.raises(DferError, match="a Dask worker cannot write the cache folder") as caught:
        with backend_session(run):
            pytest.fail("the session must not open")
    assert str(blocker / "cache") in str(caught.value)
    assert "shared file system" in str(caught.value)
