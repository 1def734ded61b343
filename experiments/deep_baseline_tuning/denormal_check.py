"""Seconds per epoch of the one-channel C3D (``temporal_difference=False``) with and without
``torch.set_flush_denormal(True)``, on one fold of the demo's synthetic set.

Also counts subnormal float32 values in the trained network's weights.

Usage::

    python experiments/deep_baseline_tuning/denormal_check.py [--cache DIR] [--fold K]
        [--epochs N] [--flush {0,1}] [--set KEY=JSON ...]

Results are printed only (``results.md`` records them by hand).
"""

from __future__ import annotations

import argparse
import time

import torch
from run import demo_data
from sklearn.metrics import balanced_accuracy_score

from handcrafted_dfer.demo import DEMO
from handcrafted_dfer.datasets.protocols import get_folds
from handcrafted_dfer.deep import C3DClassifier


def _subnormal_fraction(tensors) -> tuple[int, int]:
    tiny = torch.finfo(torch.float32).tiny
    sub = total = 0
    for t in tensors:
        if t is None or not t.is_floating_point():
            continue
        a = t.detach().abs()
        sub += int(((a > 0) & (a < tiny)).sum())
        total += a.numel()
    return sub, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/deepcache")
    parser.add_argument("--fold", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--flush", type=int, default=None,
                        help="call torch.set_flush_denormal with this value before fit")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    args = parser.parse_args()
    dataset, clips, y, groups, params = demo_data(
        args.cache, ["temporal_difference=false", f"epochs={args.epochs}", *args.set])
    train, test = list(get_folds(dataset, "kfold", n_splits=DEMO["n_splits"]))[args.fold]
    if args.flush is not None:
        torch.set_flush_denormal(bool(args.flush))
    clf = C3DClassifier(**params)
    wall, cpu = time.perf_counter(), time.process_time()
    clf.fit([clips[i] for i in train], y[train], groups=groups[train])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pred = clf.predict([clips[i] for i in test])
    uar = float(balanced_accuracy_score(y[test], pred))
    sub, total = _subnormal_fraction(list(clf.model_.parameters()))
    print(f"fold {args.fold} flush={args.flush} UAR {uar:.3f} best epoch {clf.best_epoch_}/"
          f"{len(clf.history_)} fit wall {wall:.1f} s cpu {cpu:.1f} s; subnormal weights "
          f"{sub}/{total}")
    print("seconds per epoch:", [round(e["seconds"], 2) for e in clf.history_])
    print("train loss:", [round(e["train_loss"], 3) for e in clf.history_])


if __name__ == "__main__":
    main()
