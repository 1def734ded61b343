"""``dfer demo``: the whole comparison on the embedded synthetic set, from nothing, in minutes."""

from __future__ import annotations

import argparse
import os
import pathlib
import time

from ._args import positive_int

__all__ = ["add_parser", "run", "DEMO", "DEMO_NET", "QUICK", "demo_readme"]

#: The 3D CNN of the demo: about 0.3 million parameters on 32 x 32 inputs, so that ten trainings
#: (4 folds, and the learning curve's 25/50/75% points) fit in the demo's time on two CPU cores.
DEMO_NET = {"input_size": 32, "widths": (16, 32, 64, 128), "batch_size": 8, "lr": 2e-3,
            "lr_schedule": "onecycle", "temporal_difference": True, "val_fraction": 0.15,
            "patience": 4}

#: Settings of the full demo: the default synthetic set (8 subjects x 7 classes x 2 clips),
#: subject-independent 4-fold (LOSO would train the 3D CNN 8 times per curve point), every method.
DEMO = {"subjects": 8, "clips_per_class": 2, "n_splits": 4,
        "methods": "lbptop-svm,hog3d-rf,flow-svm,fusion-svm,c3d",
        "fractions": (0.25, 0.5, 0.75, 1.0), "repeats": 5, "deep": {**DEMO_NET, "epochs": 15}}

#: Settings of ``--quick``: fewer subjects, clips, methods, curve points, permutations and epochs.
QUICK = {"subjects": 6, "clips_per_class": 1, "n_splits": 3,
         "methods": "lbptop-svm,fusion-svm,c3d", "fractions": (0.5, 1.0), "repeats": 2,
         "deep": {**DEMO_NET, "epochs": 12}}


def _default_jobs() -> int:
    """The CPUs this process may use (at most 4: the demo set is small)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, available or 1))


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="generate the synthetic set and run the handcrafted-vs-deep comparison on it",
        description="Generate the embedded synthetic expression set (no download), run `dfer "
        "compare` on it with subject-independent 4-fold cross-validation (the 3D CNN too when "
        "torch is installed) and write a report folder with the tables, figures and a README. "
        "The data are synthetic: the demo is a smoke test of the whole pipeline and a teaching "
        "aid, not evidence of accuracy on real faces. Everything is cached in OUT/cache, so a "
        "second run (or one resumed after Ctrl-C) is fast.",
    )
    parser.add_argument("--out", default="dfer-demo", metavar="DIR",
                        help="report folder (default ./dfer-demo)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smaller and faster: {QUICK['subjects']} subjects, "
                        f"{QUICK['clips_per_class']} clip per class, methods {QUICK['methods']}, "
                        f"{QUICK['deep']['epochs']} epochs")
    parser.add_argument("--jobs", type=positive_int, default=_default_jobs(), metavar="N",
                        help="parallel clips and torch threads (default: the CPUs available, "
                        "at most 4)")
    parser.add_argument("--cache", metavar="DIR",
                        help="where the synthetic set and the feature store go (default OUT/cache)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)
    return parser


def demo_readme(report: dict, *, settings: dict, seconds: float, files: list, quick: bool) -> str:
    """The README.md of the demo folder: what was run, what the files are, and what it is not."""
    deep = [r for r in report["results"] if r["family"] == "deep"]
    deep_line = ("The 3D CNN was skipped: " + deep[0]["skipped"] + "." if deep and "skipped" in deep[0]
                 else "The 3D CNN was trained on the same aligned clips and folds.")
    listing = "\n".join(f"- `{pathlib.Path(f).name}`" for f in files)
    return f"""# dfer demo{' (--quick)' if quick else ''}

**The data are synthetic.** Every clip is a warp of one of two public-domain portraits
(scikit-image's astronaut, matplotlib's Grace Hopper), animated with hand-made FACS action units.
This report is a smoke test of the whole pipeline and a teaching aid: it is **not** evidence of
accuracy on real faces. Run `dfer compare` on CK+, DFEW, MAFW or FERV39k for that.

What ran: {settings['subjects']} synthetic subjects x 7 classes x {settings['clips_per_class']}
clip(s) = {report['n_clips']} clips ({len(report['skipped'])} skipped), face detection and
alignment with dlib, LBP-TOP, 3D-HOG and optical-flow descriptors, SVM and random-forest
classifiers with subject-grouped inner searches, protocol `{report['protocol']}`
({report['n_folds']} subject-independent folds: no subject is on both sides of a fold).
{deep_line} Methods: {', '.join(report['comparison']['methods'])}. Wall time {seconds:.0f} s
with {report['environment']['n_jobs']} jobs on {report['environment']['cpu_count']} CPUs.

How to read it: `report.md` has the review's Table 1 measured (accuracy, compute, data needs,
interpretability), the learning curve and, for each handcrafted method, the face blocks
(region, plane, temporal segment) whose shuffling on held-out subjects costs the most accuracy.

Files:
{listing}
- `cache/`: the synthetic clips and the feature store (delete it to start from scratch)

Same command on your own data:

    dfer compare --dataset ckplus --root /path/to/CK+ --protocol kfold --folds 10 --report ck.json
"""


def run(args: argparse.Namespace) -> int:
    """Generate the set, run the comparison, write the report folder and print the table."""
    from ..compare import run_comparison, write_comparison
    from ..datasets.synthetic import load_synthetic
    from .compare import comparison_options, print_summary

    start = time.perf_counter()
    settings = QUICK if args.quick else DEMO
    out = pathlib.Path(args.out)
    cache = pathlib.Path(args.cache) if args.cache else out / "cache"
    dataset = load_synthetic(cache / "synthetic", subjects=settings["subjects"],
                             clips_per_class=settings["clips_per_class"], seed=args.seed,
                             progress=not args.quiet)
    options = argparse.Namespace(jobs=args.jobs, quiet=args.quiet, seed=args.seed,
                                 fractions=settings["fractions"], repeats=settings["repeats"],
                                 top=10, deep_epochs=None)
    report = run_comparison(dataset, settings["methods"], protocol="kfold",
                            protocol_options={"n_splits": settings["n_splits"]},
                            **comparison_options(options, cache_dir=cache,
                                                 deep_params=settings["deep"]))
    paths = write_comparison(report, out / "report.json")
    seconds = time.perf_counter() - start
    files = [paths["markdown"], paths["json"], *paths["figures"]]
    readme = out / "README.md"
    readme.write_text(demo_readme(report, settings=settings, seconds=seconds, files=files,
                                  quick=args.quick))
    print_summary(report, paths)
    print(f"demo finished in {seconds:.0f} s; start with {readme.resolve()}")
    return 0
