"""``dfer synth``: write the synthetic expression set (CK+ layout) to a folder."""

from __future__ import annotations

import sys
import time

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``dfer synth`` and its arguments."""
    p = subparsers.add_parser(
        "synth",
        help="write the synthetic expression set (CK+ layout) built from embedded portraits",
        description="Animate two public-domain portraits that ship with scikit-image and "
        "matplotlib into short expression clips (neutral and six basic emotions, FACS-style "
        "action units) and write them in the CK+ layout. The set is synthetic: a smoke test of "
        "the pipeline and a teaching aid, not evidence of accuracy on real faces.",
    )
    p.add_argument("--out", required=True,
                   help="new or empty folder (or one holding a synthetic set, replaced)")
    p.add_argument("--subjects", type=int, default=8, help="number of subjects S901... (default 8)")
    p.add_argument("--clips-per-class", type=int, default=2,
                   help="clips of each of the 7 classes per subject (default 2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--frames", type=int, nargs=2, default=(12, 24), metavar=("MIN", "MAX"),
                   help="range of clip lengths in frames (default 12 24)")
    p.add_argument("--size", type=int, default=240, help="frame side in pixels (default 240)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    """Generate the set and print where it went and how many clips it holds."""
    from ..datasets.synthetic import EMOTIONS, generate_synthetic

    start = time.perf_counter()
    try:
        root = generate_synthetic(
            args.out,
            subjects=args.subjects,
            clips_per_class=args.clips_per_class,
            seed=args.seed,
            frames=tuple(args.frames),
            size=args.size,
            progress=not args.quiet,
        )
    except ValueError as exc:  # an out-of-range option: say which, no traceback
        print(f"dfer synth: error: {exc}", file=sys.stderr)
        return 2
    n = args.subjects * args.clips_per_class * len(EMOTIONS)
    print(f"wrote {n} synthetic clips ({args.subjects} subjects x {len(EMOTIONS)} classes x "
          f"{args.clips_per_class}) in CK+ layout to {root.resolve()} "
          f"in {time.perf_counter() - start:.1f} s; see {root / 'README.txt'}")
    return 0
