"""Dataset listing speed: ``load_dfew`` on a fake 40,000-clip DFEW tree.

Builds, in a temporary folder, ``Clip/clip_224x224/<5-digit id>/`` (empty frame folders: loaders
never read pixels) and the 10 official split files naming every clip, then times
:func:`handcrafted_dfer.datasets.dfew.load_dfew`. The reference, timed in the same run, is the bare
minimum any loader must do: one ``os.scandir`` of the clip folder and a ``csv`` read of the 10 split
files. Prints the medians of the repeats, clips listed per second, and the loader/reference ratio.

Run: ``python benchmarks/datasets_listing.py [--clips N] [--repeats N]``
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import statistics
import tempfile
import time

from handcrafted_dfer.datasets.dfew import load_dfew


def build_tree(root: pathlib.Path, n_clips: int) -> None:
    """The fake DFEW tree: empty frame folders and 5 train/test split files."""
    frames = root / "Clip" / "clip_224x224"
    frames.mkdir(parents=True)
    for i in range(1, n_clips + 1):
        os.mkdir(frames / f"{i:05d}")
    for side in ("train", "test"):
        folder = root / "EmoLabel_DataSplit" / f"{side}(single-labeled)"
        folder.mkdir(parents=True)
        for k in range(1, 6):
            rows = [f"{i},{1 + i % 7}" for i in range(1, n_clips + 1)
                    if ((i - 1) % 5 + 1 == k) == (side == "test")]
            (folder / f"set_{k}.csv").write_text("video_name,label\n" + "\n".join(rows) + "\n")


def reference(root: pathlib.Path) -> int:
    """One scandir of the clip folder and a csv read of the split files; the clips named."""
    with os.scandir(root / "Clip" / "clip_224x224") as it:
        on_disk = {e.name for e in it}
    named = set()
    for path in sorted((root / "EmoLabel_DataSplit").glob("*/set_*.csv")):
        with open(path, newline="") as fh:
            named.update(row[0].zfill(5) for row in list(csv.reader(fh))[1:])
    return len(named & on_disk)


def _seconds(func, root) -> float:
    start = time.perf_counter()
    func(root)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40_000,
                        help="clips in the tree (default 40000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of each (default 5)")
    args = parser.parse_args(argv)
    if not 1 <= args.clips <= 99_999:
        parser.error("--clips must be in 1..99999 (DFEW ids have 5 digits)")

    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        start = time.perf_counter()
        build_tree(root, args.clips)
        built = time.perf_counter() - start
        print(f"built a fake DFEW tree of {args.clips} clips in {built:.1f} s")
        if len(load_dfew(root)) != args.clips or reference(root) != args.clips:
            raise SystemExit("listing did not find every clip")
        loader, bare = [], []
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            loader.append(_seconds(load_dfew, root))
            bare.append(_seconds(reference, root))
    t_loader, t_bare = statistics.median(loader), statistics.median(bare)
    print(f"load_dfew:  {t_loader:.3f} s median of {args.repeats} "
          f"({args.clips / t_loader:,.0f} clips/s)")
    print(f"reference:  {t_bare:.3f} s (scandir + csv only; {args.clips / t_bare:,.0f} clips/s)")
    print(f"ratio load_dfew / reference: {t_loader / t_bare:.1f}x")


if __name__ == "__main__":
    main()
