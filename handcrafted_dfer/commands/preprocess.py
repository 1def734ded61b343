"""``dfer preprocess``: one video to an aligned face clip (``.npz``), optionally a contact sheet."""

from __future__ import annotations

import argparse

from ._args import add_preprocess_arguments, check_input, check_output, preprocess_from_args

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``preprocess`` on the ``dfer`` subparsers."""
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
    add_preprocess_arguments(parser)
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
    config = preprocess_from_args(args)
    clip = preprocess_video(args.input, config, progress=not args.quiet)
    clip.save(args.out)
    if args.preview:
        save_contact_sheet(clip, args.preview)
    if not args.quiet:
        print(f"{args.out}: {clip.n_frames} frames of {clip.size}x{clip.size}, "
              f"{int(clip.valid.sum())} with a face"
              + ("" if clip.has_landmarks else ", no landmarks (frames given aligned)"))
    return 0
