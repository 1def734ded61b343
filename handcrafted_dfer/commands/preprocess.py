"""``dfer preprocess``: one video to an aligned face clip (``.npz``), optionally a contact sheet."""

from __future__ import annotations

import argparse
import dataclasses

from ..config import PreprocessConfig
from ._args import check_input, check_output, positive_int

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``preprocess`` on the ``dfer`` subparsers."""
    defaults = PreprocessConfig()
    parser = subparsers.add_parser(
        "preprocess",
        help="track and align the face in one video and save the aligned clip (.npz)",
        description="Read a video file or frame folder, follow the face, align every frame to a "
        "canonical face (grey, SIZE x SIZE), resample to FRAMES frames and save an AlignedClip "
        "as .npz.",
    )
    parser.add_argument("input", metavar="INPUT",
                        help="video file (any container FFmpeg decodes), frame image or frame "
                        "folder")
    parser.add_argument("--out", required=True, metavar="CLIP.npz", help="where to write the clip")
    parser.add_argument("--size", type=positive_int, default=defaults.size,
                        help=f"side of the square face crop in pixels (default {defaults.size})")
    parser.add_argument("--frames", type=positive_int, default=defaults.frames,
                        help=f"frames after temporal normalization (default {defaults.frames})")
    parser.add_argument("--clahe", action="store_true", help="equalise each crop with CLAHE")
    parser.add_argument("--faces", choices=PreprocessConfig.FACE_MODES, default=defaults.faces,
                        help="what the frames hold: scenes to detect faces in, face crops "
                        "(landmarks fitted inside each), or aligned faces (only resized; no "
                        f"landmarks) (default {defaults.faces})")
    parser.add_argument("--min-face", type=positive_int, default=defaults.min_face,
                        metavar="PIXELS", help="smallest face width searched for, in frame "
                        "pixels (at least 20; smaller costs more) "
                        f"(default {defaults.min_face})")
    parser.add_argument("--detector", choices=PreprocessConfig.DETECTORS,
                        default=defaults.detector,
                        help="dlib's HOG detector, or its CNN detector (turned and partly hidden "
                        "faces; preprocessing about 7x slower) "
                        f"(default {defaults.detector})")
    parser.add_argument("--crop-side", type=float, default=defaults.crop_side, metavar="UNITS",
                        help="side of the aligned crop in detector-box units (smaller is "
                        f"tighter) (default {defaults.crop_side})")
    parser.add_argument("--crop-centre", type=float, nargs=2, default=defaults.crop_centre,
                        metavar=("X", "Y"), help="centre of the aligned crop in detector-box "
                        "units, y down (default "
                        f"{defaults.crop_centre[0]} {defaults.crop_centre[1]})")
    parser.add_argument("--preview", metavar="SHEET.png",
                        help="also write a contact sheet of the aligned frames with landmarks")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Preprocess ``args.input`` as the options say; return the exit status."""
    from ..face.preprocess import preprocess_video
    from ..face.preview import save_contact_sheet

    check_input(args.input, "a video file or a frame folder")
    check_output(args.out, "the aligned clip")
    if args.preview:
        check_output(args.preview, "the contact sheet")
    config = dataclasses.replace(PreprocessConfig(), size=args.size, frames=args.frames,
                                 clahe=args.clahe, faces=args.faces, min_face=args.min_face,
                                 detector=args.detector, crop_side=args.crop_side,
                                 crop_centre=tuple(args.crop_centre))
    clip = preprocess_video(args.input, config, progress=not args.quiet)
    clip.save(args.out)
    if args.preview:
        save_contact_sheet(clip, args.preview)
    if not args.quiet:
        print(f"{args.out}: {clip.n_frames} frames of {clip.size}x{clip.size}, "
              f"{int(clip.valid.sum())} with a face"
              + ("" if clip.has_landmarks else ", no landmarks (frames given aligned)"))
    return 0
