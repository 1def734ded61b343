"""``dfer preprocess``: one video to an aligned face clip (``.npz``), optionally a contact sheet."""

from __future__ import annotations

import argparse

from ._args import (add_faces_in_video_argument, add_preprocess_arguments, check_input,
                    check_output, face_file_name, preprocess_from_args)

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
    parser.add_argument("--out", required=True, metavar="CLIP.npz",
                        help="where to write the clip; with --faces-in-video all, a name with "
                        "{face} in it, replaced by each identity's number (clip_{face}.npz)")
    add_faces_in_video_argument(parser)
    add_preprocess_arguments(parser)
    parser.add_argument("--preview", metavar="SHEET.png",
                        help="also write a contact sheet of the aligned frames with landmarks "
                        "({face} as in --out)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Preprocess ``args.input`` as the options say; return the exit status."""
    from ..face.preprocess import preprocess_faces
    from ..face.preview import save_contact_sheet

    check_input(args.input, "a video file or a frame folder")
    every = args.faces_in_video == "all"
    for path, what in ((args.out, "the aligned clip"), (args.preview, "the contact sheet")):
        if path is None:
            continue
        if every and "{face}" not in path:
            raise ValueError(f"{path}: with --faces-in-video all, the name needs {{face}} "
                             "(replaced by each identity's number), e.g. clip_{face}.npz")
        check_output(face_file_name(path, 0), what)
    config = preprocess_from_args(args)
    clips = preprocess_faces(args.input, config, faces_in_video=args.faces_in_video,
                             progress=not args.quiet)
    for face, clip in clips.items():
        out = face_file_name(args.out, face)
        clip.save(out)
        if args.preview:
            save_contact_sheet(clip, face_file_name(args.preview, face))
        if not args.quiet:
            who = "" if args.faces_in_video == "largest" else f"face {face}: "
            print(f"{out}: {who}{clip.n_frames} frames of {clip.size}x{clip.size}, "
                  f"{int(clip.valid.sum())} with a face"
                  + ("" if clip.has_landmarks else ", no landmarks (frames given aligned)"))
    return 0
