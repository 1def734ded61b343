"""``dfer explain``: figures that show what the histograms say, per class, per plane, per video."""

from __future__ import annotations

import argparse
import os
import pathlib

from ._args import (methods_from_args, add_experiment_arguments, check_input,
                    experiment_from_args, model_preprocess_from_args, positive_int,
                    preprocess_from_args, run_options_from_args)

__all__ = ["add_parser", "run"]

#: Flags that set the method, which a model file already fixes (its preprocessing flags may
#: change how frames are read, as in ``dfer predict``, but not the clip shape).
_MODEL_FIXES = ("features", "classifier", "method")
#: Flags that describe a dataset run.
_DATASET_FLAGS = ("config", "dataset", "root", "dataset_options", "protocol", "folds")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer explain``."""
    from ..spec import DEFAULT_METHOD

    parser = subparsers.add_parser(
        "explain",
        help="figures of what the features and a model rely on, per class, plane and video",
        description="Write PNG figures and an index.md (one sentence per figure) into --out DIR. "
        "Four inputs: --report OUT.json draws again the figures of a report of dfer evaluate, "
        "compare or demo (confusion, learning curve, block and per-class importance) without "
        "recomputing; --model MODEL --dataset NAME --root DIR refits the model's method on every "
        "fold of the protocol and shows, on the held-out folds, the per-class importance of "
        "every face block as heatmaps (per plane and temporal segment), three views of "
        "importance with their rank correlations, the mean histograms of each class with their "
        "bins named, and the chi-squared separability of the classes next to the confusion "
        "matrix; --model MODEL VIDEO shows why the video got its label (the blocks whose "
        "removal changes it most, over its own aligned frames) and its timeline; --teach "
        "CLIP.npz|VIDEO draws the five teaching figures of LBP-TOP, 3D-HOG and HOF/MBH with the "
        f"extractor parameters of --model, or of --method/--set (default {DEFAULT_METHOD}). "
        "Model files are loaded as `dfer predict` loads them (no code from the file runs).",
    )
    parser.add_argument("video", nargs="?", metavar="VIDEO",
                        help="with --model: the video file or frame folder to explain")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for the figures and index.md (created)")
    parser.add_argument("--report", metavar="OUT.json",
                        help="the JSON report of dfer evaluate, compare or demo")
    parser.add_argument("--model", metavar="MODEL.skops", help="model file from `dfer train`")
    parser.add_argument("--teach", metavar="CLIP.npz|VIDEO",
                        help="an aligned clip (from `dfer preprocess`) or a video to draw the "
                        "teaching figures of")
    parser.add_argument("--frame", type=int, metavar="K",
                        help="with --teach: frame of the LBP and flow figures (default: middle)")
    parser.add_argument("--repeats", type=positive_int, default=5, metavar="N",
                        help="with --dataset: permutations per block and fold (default 5)")
    parser.add_argument("--window", type=positive_int, default=16,
                        help="with VIDEO: timeline window in source frames (default 16)")
    parser.add_argument("--stride", type=positive_int, default=4,
                        help="with VIDEO: step between timeline windows (default 4)")
    add_experiment_arguments(parser, methods="one", protocol=True)
    parser.set_defaults(func=run)
    return parser


#: Flags whose destination is not their name.
_FLAG_OF = {"settings": "--set", "dataset_options": "--dataset-option"}


def _given(args, names) -> list[str]:
    """The flags among ``names`` (argument destinations) that were given."""
    return [_FLAG_OF.get(n, "--" + n.replace("_", "-"))
            for n in names if getattr(args, n, None) not in (None, False, [])]


def _mode(args) -> str:
    """``report``, ``teach``, ``video`` or ``held_out``; a bad combination is a ValueError."""
    if args.report:
        extra = _given(args, ("model", "teach", "video") + _DATASET_FLAGS)
        if extra:
            raise ValueError(f"--report draws a report's figures alone; drop {', '.join(extra)}")
        return "report"
    if args.teach:
        extra = _given(args, ("video",) + _DATASET_FLAGS)
        if extra:
            raise ValueError(f"--teach draws one clip's figures; drop {', '.join(extra)}")
        if args.model and _given(args, _MODEL_FIXES + ("settings",)):
            raise ValueError("with --model, the teaching figures use the model's extractor "
                             "parameters; drop "
                             + ", ".join(_given(args, _MODEL_FIXES + ("settings",))))
        return "teach"
    if not args.model:
        raise ValueError("give --report OUT.json, --model MODEL (with VIDEO or --dataset), or "
                         "--teach CLIP.npz|VIDEO")
    fixed = _given(args, _MODEL_FIXES + ("settings",))
    if fixed:
        raise ValueError(f"the method comes from the model file; drop {', '.join(fixed)}")
    if args.video:
        extra = _given(args, _DATASET_FLAGS)
        if extra:
            raise ValueError(f"explaining one video needs no dataset; drop {', '.join(extra)}")
        return "video"
    if not (args.dataset or args.config):
        raise ValueError("--model needs a VIDEO to explain, or --dataset (and --root) to explain "
                         "it on held-out folds")
    return "held_out"


def _check_out(path) -> pathlib.Path:
    from ..errors import DferError

    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise DferError(path, "is a file; expected a folder for the figures and index.md")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DferError(path, f"cannot create the folder for the figures ({exc.strerror})") from exc
    if not os.access(path, os.W_OK):
        raise DferError(path, "folder is not writable; the figures cannot be written there")
    return path


def _teach_clip(args, model):
    """The clip to teach with: an ``.npz`` aligned clip, or a video preprocessed as the model
    was (or as the flags say)."""
    from ..clip import AlignedClip

    path = pathlib.Path(args.teach)
    if path.suffix.lower() == ".npz":
        return AlignedClip.load(path)
    from ..face.preprocess import preprocess_video

    config = model.config if model else preprocess_from_args(args)
    return preprocess_video(path, config, progress=not args.quiet)


def _teach_extractors(args, model) -> dict:
    from ..explain.lesson import method_extractors
    from ..pipeline import build_pipeline, check_spec
    from ..spec import DEFAULT_METHOD, MethodSpec

    if model:
        return method_extractors(model.pipeline)
    methods = methods_from_args(args, DEFAULT_METHOD) or (MethodSpec.parse(DEFAULT_METHOD),)
    if len(methods) != 1:
        raise ValueError(f"--teach takes one method; got {', '.join(m.name for m in methods)}")
    spec = methods[0].with_settings(args.settings)
    check_spec(spec)
    return method_extractors(build_pipeline(spec))


def run(args: argparse.Namespace) -> int:
    """Write the explanation the arguments ask for and list its figures."""
    from ..distributed import backend_session
    from ..explain import explain_held_out, explain_report, explain_video, teaching_figures
    from ..explain.report import read_report
    from ..modelfile import load_model

    mode = _mode(args)
    if args.video:
        check_input(args.video, "a video file or a frame folder")
    if args.teach:
        check_input(args.teach, "an aligned clip (.npz) or a video")
    report = read_report(args.report) if mode == "report" else None
    model = model_preprocess_from_args(args, load_model(args.model)) if args.model else None
    extractors = _teach_extractors(args, model) if mode == "teach" else None
    experiment = (experiment_from_args(args, default_methods=model.method)
                  if mode == "held_out" else None)
    out = _check_out(args.out)
    progress = not args.quiet
    if mode == "report":
        explanation = explain_report(report, out=out, source=args.report)
    elif mode == "teach":
        explanation = teaching_figures(_teach_clip(args, model), out=out, extractors=extractors,
                                       frame=args.frame, source=args.teach)
    elif mode == "video":
        explanation = explain_video(args.video, model, out=out, window=args.window,
                                    stride=args.stride, progress=progress)
    else:
        run_options = run_options_from_args(args)
        with backend_session(run_options):
            explanation = explain_held_out(model, experiment, run_options, out=out,
                                           n_repeats=args.repeats, source=args.model,
                                           progress=progress)
    if explanation.notes:
        print(explanation.notes[0])
    for figure in explanation.figures:
        print(f"  {figure.file}: {figure.caption}")
    print(f"wrote {len(explanation.figures)} figures and {explanation.index}")
    return 0
