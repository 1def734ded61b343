"""``dfer dynamics``: expression intensity over time, with onset, apex and offset, for one video."""

from __future__ import annotations

import argparse
import json
import math
import pathlib

from ..config import PreprocessConfig
from ..errors import DferError
from ._args import positive_int

__all__ = ["add_parser", "run", "frame_range"]


def frame_range(text: str) -> tuple[int, int]:
    """``A:B`` (0-based, B exclusive, A < B) as ``(A, B)``; else an ArgumentTypeError."""
    try:
        start, stop = (int(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:STOP frame numbers (0-based, STOP exclusive); got {text!r}") from None
    if not 0 <= start < stop:
        raise argparse.ArgumentTypeError(f"expected 0 <= START < STOP; got {text!r}")
    return start, stop


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer dynamics``."""
    defaults = PreprocessConfig()
    parser = subparsers.add_parser(
        "dynamics",
        help="expression intensity over time and its onset, apex and offset, for one video",
        description="Follow the face in every frame, measure how far each frame is from the "
        "person's neutral face (landmark displacement and LBP chi-square distance, for the whole "
        "face and per region), and segment each curve into neutral, onset, apex and offset. No "
        "classifier is needed.",
    )
    parser.add_argument("input", metavar="VIDEO|CLIP_FOLDER",
                        help="video file (mp4/avi/mov/mkv) or folder of frame images")
    parser.add_argument("--neutral-frames", type=frame_range, metavar="A:B",
                        help="frames A..B-1 (0-based) are neutral (default: found from the track; "
                        "for a sequence that starts neutral, like CK+, the first frames)")
    parser.add_argument("--plot", metavar="OUT.png", help="write the curves with phases shaded")
    parser.add_argument("--csv", metavar="OUT.csv", help="write one row per episode and curve")
    parser.add_argument("--json", metavar="OUT.json",
                        help="write everything (curves per frame, phases, episodes) as JSON")
    parser.add_argument("--size", type=positive_int, default=defaults.size,
                        help=f"side of the aligned face crop in pixels (default {defaults.size})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    parser.set_defaults(func=run)
    return parser


def _check_paths(args: argparse.Namespace) -> None:
    if not pathlib.Path(args.input).exists():
        raise DferError(args.input, "no such file or folder; expected a video file or a folder "
                        "of frame images")
    for option in ("plot", "csv", "json"):
        path = getattr(args, option)
        if path is not None and not pathlib.Path(path).resolve().parent.is_dir():
            raise DferError(path, f"--{option}: the folder to write it in does not exist")


def _seconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def run(args: argparse.Namespace) -> int:
    """Compute, print a summary, and write the requested files."""
    import dataclasses

    from ..analyze.dynamics import DYNAMICS_PREPROCESS, plot_dynamics, video_dynamics

    _check_paths(args)
    dynamics = video_dynamics(args.input, neutral=args.neutral_frames,
                              preprocess=dataclasses.replace(DYNAMICS_PREPROCESS, size=args.size),
                              progress=not args.quiet)
    table = dynamics.episodes_table()
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(dynamics.to_dict(), indent=1))
    if args.plot:
        plot_dynamics(dynamics).savefig(args.plot, dpi=110, bbox_inches="tight")
    if not args.quiet:
        neutral = dynamics.neutral
        print(f"{dynamics.source}: {dynamics.n_frames} frames, "
              f"{dynamics.n_frames / dynamics.fps:.2f} s at {dynamics.fps:.2f} fps, a face in "
              f"{int(dynamics.valid.sum())}; neutral reference: {len(neutral)} frames "
              f"({neutral[0]}..{neutral[-1]}, {dynamics.neutral_rule} rule)")
        print("                            strongest episode")
        print("space      region  episodes  onset_s  apex_s   end_s  rise_s  fall_s    peak  "
              "baseline")
        for curve in dynamics.curves:
            rows = table[(table.space == curve.space) & (table.region == curve.region)]
            line = f"{curve.space:10s} {curve.region:6s} {len(rows):9d}"
            if len(rows):
                r = rows.loc[rows.peak_intensity.idxmax()]
                line += (f"  {r.onset_s:7.2f}  {r.apex_s:6.2f}  {r.end_s:6.2f}  "
                         f"{_seconds(r.rise_s):>6s}  {_seconds(r.fall_s):>6s}  "
                         f"{r.peak_intensity:6.3f}  {curve.phases.baseline:8.3f}")
            print(line)
        for option in ("csv", "json", "plot"):
            if getattr(args, option):
                print(f"wrote {getattr(args, option)}")
    return 0
