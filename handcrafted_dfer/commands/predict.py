"""``dfer predict``: labels and class probabilities over time for a video of any length."""

from __future__ import annotations

import argparse
import json

from ._args import (add_preprocess_arguments, check_input, check_output,
                    model_preprocess_from_args, positive_int)

__all__ = ["add_parser", "run"]

_TRUST = ("Model files are skops archives: loading one builds only the types on an explicit list "
          "(the pipeline's own steps, scikit-learn estimators, NumPy arrays) and runs no code "
          "from the file; anything else in it is refused. Old pickle model files (handcrafted_dfer "
          "0.1) are refused too: retrain them with `dfer train`.")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer predict``."""
    parser = subparsers.add_parser(
        "predict",
        help="labels and class probabilities over time for a video, with a saved model",
        description="Slide a window over a video of any length and print, per window, its time "
        "span, its label and the class probabilities of a model written by `dfer train`. "
        "Windows where too few frames show a face get no label. " + _TRUST,
    )
    parser.add_argument("video", metavar="VIDEO", help="video file or frame folder")
    parser.add_argument("--model", required=True, metavar="MODEL.skops",
                        help="model file from `dfer train` (see above for what loading it can do)")
    parser.add_argument("--window", type=positive_int, default=16,
                        help="window length in source frames (default 16)")
    parser.add_argument("--stride", type=positive_int, default=4,
                        help="step between windows in source frames (default 4)")
    add_preprocess_arguments(parser, what=" (default: the model's)")
    parser.add_argument("--json", metavar="OUT.json", help="write the windows as JSON")
    parser.add_argument("--plot", metavar="OUT.png", help="write a timeline plot")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or table")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Predict, print a table, and write the requested files."""
    from ..analyze.timeline import plot_timeline, predict_video
    from ..cache import write_result
    from ..modelfile import load_model

    check_input(args.video, "a video file or a frame folder")
    for path, what in ((args.json, "the JSON windows"), (args.plot, "the timeline plot")):
        if path:
            check_output(path, what)
    model = model_preprocess_from_args(args, load_model(args.model))
    result = predict_video(args.video, model, window=args.window, stride=args.stride,
                           progress=not args.quiet)
    result["model"] = str(args.model)
    if args.json:
        write_result(args.json, json.dumps(result, indent=2).encode("utf-8"),
                     what="the JSON windows")
    if args.plot:
        plot_timeline(result, args.plot)
    if not args.quiet:
        print(f"{result['video']}: {result['n_frames']} frames, {result['duration_s']:.2f} s, "
              f"{len(result['windows'])} windows, processed in {result['seconds']:.1f} s "
              f"({result['method']})")
        print("start_s  end_s  label     " + "  ".join(f"{label[:8]:>8}"
                                                      for label in result["labels"]))
        for w in result["windows"]:
            if w["no_face"]:
                print(f"{w['start_s']:7.2f} {w['end_s']:6.2f}  (no face)")
                continue
            print(f"{w['start_s']:7.2f} {w['end_s']:6.2f}  {w['label'][:8]:8s}  "
                  + "  ".join(f"{w['probabilities'][label]:8.3f}" for label in result["labels"]))
    return 0
