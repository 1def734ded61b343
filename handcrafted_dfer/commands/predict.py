"""``dfer predict``: labels and class probabilities over time for a video of any length."""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from ._args import (add_faces_in_video_argument, add_preprocess_arguments, check_input,
                    check_output, model_preprocess_from_args, positive_int)

__all__ = ["add_parser", "run"]

_TRUST = ("Model files are skops archives: loading one builds only the types on an explicit list "
          "(the pipeline's own steps, scikit-learn estimators, NumPy arrays) and runs no code "
          "from the file; anything else in it is refused. Old pickle model files (handcrafted_dfer "
          "0.1) are refused too: retrain them with `dfer train`.")
#: Rows of the windows table written together with --stream (CSV: every row at once).
_PARQUET_ROWS = 64


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer predict``."""
    parser = subparsers.add_parser(
        "predict",
        help="labels and class probabilities over time for a video, with a saved model",
        description="Slide a window over a video of any length and print, per window and face, "
        "its time span, its label and the class probabilities of a model written by `dfer "
        "train`. Windows where too few frames show the face get no label. Frames are processed "
        "as they are read: memory does not grow with the video's length. " + _TRUST,
    )
    parser.add_argument("video", metavar="VIDEO",
                        help="video file or frame folder; with --stream also a camera index "
                        "(0 for the first camera)")
    parser.add_argument("--model", required=True, metavar="MODEL.skops",
                        help="model file from `dfer train` (see above for what loading it can do)")
    parser.add_argument("--window", type=positive_int, default=16,
                        help="window length in source frames (default 16)")
    parser.add_argument("--stride", type=positive_int, default=4,
                        help="step between windows in source frames (default 4)")
    add_faces_in_video_argument(parser)
    add_preprocess_arguments(parser, what=" (default: the model's)")
    parser.add_argument("--stream", action="store_true",
                        help="print each window's line as soon as the window is complete, at "
                        "most one stride after its last frame is read (faces re-detected and "
                        "searched for at least every stride frames, short gaps not filled); "
                        "VIDEO may be a camera index")
    parser.add_argument("--json", metavar="OUT.json", help="write the windows as JSON")
    parser.add_argument("--plot", metavar="OUT.png", help="write a timeline plot (one panel per "
                        "face)")
    parser.add_argument("--windows-csv", metavar="OUT.csv|OUT.parquet",
                        help="write the windows table: one row per window and face (face id, "
                        "frames, times, valid fraction, label, one probability column per "
                        "class); Parquet when the name ends in .parquet")
    parser.add_argument("--frames-csv", metavar="OUT.csv|OUT.parquet",
                        help="write the frames table: one row per frame and face (frame, time, "
                        "face id, status, validity, box, detector score, 68 landmarks x_0..x_67 "
                        "y_0..y_67 in frame pixels, head yaw/pitch/roll in degrees); Parquet "
                        "when the name ends in .parquet")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or table")
    parser.set_defaults(func=run)
    return parser


def _camera(args) -> int | None:
    """The camera index VIDEO names, or None when it names a path."""
    if not args.video.isdigit() or pathlib.Path(args.video).exists():
        return None
    if not args.stream:
        raise ValueError(f"{args.video}: no such file or folder (a camera index needs --stream)")
    return int(args.video)


def _check_outputs(args) -> None:
    from ..analyze.tables import table_format

    if args.stream and (args.json or args.plot):
        raise ValueError("--json and --plot need the whole timeline, which --stream does not "
                         "keep; write --windows-csv instead (its rows are written as windows "
                         "complete)")
    for path, what in ((args.json, "the JSON windows"), (args.plot, "the timeline plot"),
                       (args.windows_csv, "the windows table"),
                       (args.frames_csv, "the frames table")):
        if path:
            check_output(path, what)
    for path, what in ((args.windows_csv, "the windows table"),
                       (args.frames_csv, "the frames table")):
        if path:
            table_format(path, what=what)


def _header(labels) -> str:
    return "face  start_s  end_s  label     " + "  ".join(f"{label[:8]:>8}" for label in labels)


def _line(row: dict, labels) -> str:
    start = f"{row['face_id']:4d} {row['start_s']:8.2f} {row['end_s']:6.2f}  "
    if row["label"] is None:
        return start + "(no face)"
    return start + f"{row['label'][:8]:8s}  " + "  ".join(
        f"{row['probabilities'][label]:8.3f}" for label in labels)


def _stream(args, model) -> int:
    """``--stream``: a line per window as it completes; tables written as they grow."""
    from ..analyze.tables import TableWriter
    from ..analyze.timeline import iter_windows, windows_table
    from ..video import open_camera

    camera = _camera(args)
    source = args.video if camera is None else open_camera(camera)
    labels = model.class_names
    writer = TableWriter(args.windows_csv, what="the windows table") if args.windows_csv else None
    pending = []
    try:
        if writer is not None:
            writer.write(windows_table([], labels))  # the header (CSV) or the schema (Parquet)
        if not args.quiet:
            print(_header(labels), flush=True)
        for row in iter_windows(source, model, window=args.window, stride=args.stride,
                                faces_in_video=args.faces_in_video, stream=True,
                                frames_table=args.frames_csv):
            if not args.quiet:
                print(_line(row, labels), flush=True)
            if writer is not None:
                pending.append(row)
                if writer.format == "csv" or len(pending) >= _PARQUET_ROWS:
                    writer.write(windows_table(pending, labels))
                    pending = []
    finally:
        if writer is not None:
            if pending:
                writer.write(windows_table(pending, labels))
            writer.close()
    return 0


def run(args: argparse.Namespace) -> int:
    """Predict, print a table, and write the requested files."""
    from ..analyze.tables import write_table
    from ..analyze.timeline import plot_timeline, predict_video, timeline_json
    from ..cache import write_result
    from ..modelfile import load_model

    if _camera(args) is None:
        check_input(args.video, "a video file or a frame folder")
    _check_outputs(args)
    model = model_preprocess_from_args(args, load_model(args.model))
    if args.stream:
        return _stream(args, model)
    table = predict_video(args.video, model, window=args.window, stride=args.stride,
                          faces_in_video=args.faces_in_video, frames_table=args.frames_csv,
                          progress=not args.quiet)
    table.attrs["model"] = str(args.model)
    if args.json:
        write_result(args.json, json.dumps(timeline_json(table), indent=2).encode("utf-8"),
                     what="the JSON windows")
    if args.plot:
        plot_timeline(table, args.plot)
    if args.windows_csv:
        write_table(table, args.windows_csv, what="the windows table")
    if not args.quiet:
        attrs = table.attrs
        print(f"{attrs['video']}: {attrs['n_frames']} frames, {attrs['duration_s']:.2f} s, "
              f"{len(table)} windows of {len(attrs['faces'])} face(s), processed in "
              f"{attrs['seconds']:.1f} s ({attrs['method']})")
        print(_header(attrs["labels"]))
        for row in timeline_json(table)["windows"]:
            print(_line(row, attrs["labels"]))
        sys.stdout.flush()
    return 0
