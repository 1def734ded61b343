"""Deep baseline tuning: the demo's 3D CNN on the demo's synthetic set and 4 subject-independent folds.

Trains :class:`handcrafted_dfer.deep.C3DClassifier` with the demo's settings (``DEMO_NET``, 15
epochs, 2 threads) on each fold's training subjects (early stopping on a validation split of
those subjects only), and writes test UAR per fold, wall and CPU seconds per training, the
selected epoch and the training history to ``results.json`` and ``results.md`` next to this file.

Usage::

    python experiments/deep_baseline_tuning/run.py [--cache DIR] [--set KEY=JSON ...]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from handcrafted_dfer.config import PreprocessConfig, RunOptions
from handcrafted_dfer.datasets.protocols import get_folds
from handcrafted_dfer.datasets.synthetic import load_synthetic
from handcrafted_dfer.deep import C3DClassifier
from handcrafted_dfer.demo import DEMO
from handcrafted_dfer.evaluate.clips import prepare_clips

HERE = pathlib.Path(__file__).parent


def demo_data(cache, overrides):
    """The demo's synthetic set, its aligned clips, labels, subjects and C3D parameters.

    Parameters
    ----------
    cache : str or Path
        Folder of the synthetic set and the clip cache.
    overrides : list of str
        ``KEY=JSON`` items that replace entries of the demo's C3D parameters.

    Returns
    -------
    dataset, clips, y, groups, params
    """
    params = {**DEMO["deep"], "n_threads": 2, "verbose": False}
    for item in overrides:
        key, value = item.split("=", 1)
        params[key] = json.loads(value)
    cache = pathlib.Path(cache)
    dataset = load_synthetic(cache / "synthetic", subjects=DEMO["subjects"],
                             clips_per_class=DEMO["clips_per_class"], progress=False)
    prepared = prepare_clips(dataset, PreprocessConfig(), RunOptions(cache_dir=str(cache)))
    clips = prepared.clips
    assert not prepared.skipped, prepared.skipped
    y, groups = np.asarray(dataset.y), np.asarray(dataset.subjects, dtype=object)
    return dataset, clips, y, groups, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/deepcache", help="synthetic set + clip cache")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="override a C3DClassifier parameter (e.g. --set lr=0.001)")
    parser.add_argument("--name", default="demo settings", help="label of this run")
    args = parser.parse_args()
    dataset, clips, y, groups, params = demo_data(args.cache, args.set)
    folds = []
    for k, (train, test) in enumerate(get_folds(dataset, "kfold", n_splits=DEMO["n_splits"])):
        clf = C3DClassifier(**params)
        wall, cpu = time.perf_counter(), time.process_time()
        clf.fit([clips[i] for i in train], y[train], groups=groups[train])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        pred = clf.predict([clips[i] for i in test])
        folds.append({"fold": k, "n_train": len(train), "n_val": len(clf.val_indices_),
                      "uar": float(balanced_accuracy_score(y[test], pred)),
                      "train_accuracy": float(np.mean(clf.predict([clips[i] for i in train])
                                                      == y[train])),
                      "best_epoch": clf.best_epoch_, "epochs_run": len(clf.history_),
                      "fit_wall_s": wall, "fit_cpu_s": cpu, "history": clf.history_})
        print(f"fold {k}: UAR {folds[-1]['uar']:.3f} best epoch {clf.best_epoch_}/"
              f"{len(clf.history_)} wall {wall:.1f} s cpu {cpu:.1f} s", flush=True)
    run = {"name": args.name, "params": {k: v for k, v in params.items()},
           "mean_uar": float(np.mean([f["uar"] for f in folds])),
           "mean_fit_wall_s": float(np.mean([f["fit_wall_s"] for f in folds])),
           "mean_fit_cpu_s": float(np.mean([f["fit_cpu_s"] for f in folds])), "folds": folds}
    out = HERE / "results.json"
    runs = json.loads(out.read_text())["runs"] if out.is_file() else []
    runs = [r for r in runs if r["name"] != args.name] + [run]
    out.write_text(json.dumps({"runs": runs}, indent=1, default=str))
    print(f"{args.name}: mean UAR {run['mean_uar']:.3f}, fit {run['mean_fit_wall_s']:.1f} s wall, "
          f"{run['mean_fit_cpu_s']:.1f} s CPU per training ({params})")


if __name__ == "__main__":
    main()
