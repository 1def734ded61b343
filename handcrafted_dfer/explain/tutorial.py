"""Every figure of ``docs/tutorial.md``, made by the package itself on the embedded synthetic set.

Regenerate them all with one command (a couple of minutes on two cores)::

    python -m handcrafted_dfer.explain.tutorial docs/tutorial

It generates a small synthetic set (:data:`SET`) in a temporary folder (``--cache DIR`` keeps it,
and the feature store, for the next run), trains :data:`METHOD` on every subject but one, and
writes into the folder:

* ``video_frames.png``: the unseen subject's clip as the camera gave it;
* ``teach/``: the five teaching figures of that clip (:func:`~.lesson.teaching_figures`), with
  the trained model's extractor parameters;
* ``video/``: why the model labels that clip as it does, and its timeline
  (:func:`~.video.explain_video`);
* ``held_out/``: the method refitted on every fold of a subject-independent protocol, explained on
  the held-out folds (:func:`~.held_out.explain_held_out`);
* ``readme_heatmap.png``: the per-class heatmaps of three classes, for the README.

Every PNG is then reduced for the repository (:func:`compact_png`).

Each folder holds its ``index.md`` (one sentence per figure) and ``explanation.json``. With
``--check MARKDOWN``, the command then fails unless every image that MARKDOWN links inside a folder
named like the output folder was written (CI runs it so on ``docs/tutorial.md``). Synthetic data
only: nothing here reads CK+ or any other dataset.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile

import numpy as np
from matplotlib.figure import Figure

from ..config import DatasetRef, Experiment, PreprocessConfig, RunOptions
from ..spec import MethodSpec
from .index import index_figures
from .plots import save_figure

__all__ = ["SET", "NEW_SUBJECT", "NEW_CLASS", "PREPROCESS", "METHOD", "make_tutorial_figures",
           "compact_png", "check_links", "main"]

#: The synthetic set of the tutorial: 7 subjects x 7 classes x 2 clips.
SET = {"subjects": 7, "clips_per_class": 2, "frames": (12, 16), "size": 160}
#: The subject left out of training: its clip is the "new video".
NEW_SUBJECT = "S907"
#: The class of the new video.
NEW_CLASS = "happiness"
#: Preprocessing of the tutorial.
PREPROCESS = PreprocessConfig(size=96, frames=16)
#: The method taught: LBP-TOP and optical flow on a 3 x 3 grid (eyes and brows, nose and cheeks,
#: mouth and jaw) in two temporal segments, random forest.
METHOD = MethodSpec.parse("lbptop+flow-rf").with_settings([("lbptop", "grid", [2, 3, 3]),
                                                           ("flow", "grid", [2, 3, 3])])
#: Protocol of the held-out explanation, and permutations per block and fold.
FOLDS, REPEATS, SEED = 3, 3, 0
#: Classes in the README's heatmap: those whose most important block costs them the most.
README_CLASSES = 3
#: Longest side, in pixels, of the figures written into the docs (the PNGs are also reduced to
#: 256 colours, so that the tutorial's figures stay light in the repository).
DOCS_PIXELS = 1600


def _frames_figure(path, *, n: int = 5) -> Figure:
    """A strip of ``n`` evenly spaced raw frames of a video."""
    from ..video import open_video

    frames = list(open_video(path))
    shown = np.unique(np.linspace(0, len(frames) - 1, n).round().astype(int))
    fig = Figure(figsize=(2.2 * len(shown), 2.5), layout="constrained")
    for ax, k in zip(np.atleast_1d(fig.subplots(1, len(shown))), shown):
        frame = frames[k]
        ax.imshow(frame if frame.ndim == 2 else frame[..., ::-1], cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"frame {k} of {len(frames)}", fontsize=8)
        ax.set_axis_off()
    fig.suptitle("The new video: a synthetic subject the model never saw, neutral to apex",
                 fontsize=9)
    return fig


def _readme_heatmap(explanation, training, model, run) -> Figure:
    """Three classes of the held-out per-class heatmaps (a smaller figure for the README)."""
    from ..evaluate.clips import prepare_clips
    from ..pipeline import feature_names
    from .blocks import BlockNamer, mean_landmarks
    from .importance import ClassImportance
    from .plots import mean_face, plot_class_heatmaps

    clips = prepare_clips(training, PREPROCESS, run).clips
    namer = BlockNamer.from_feature_names(feature_names(model.pipeline),
                                          landmarks=mean_landmarks(clips), size=PREPROCESS.size)
    importance = ClassImportance.from_dict(explanation.data["per_class_importance"])
    strongest = sorted(importance.classes, key=lambda c: -importance.ranking(c, top=1)[0][1])
    classes = [c for c in importance.classes if c in strongest[:README_CLASSES]
               and importance.ranking(c, top=1)[0][1] > 0]
    return plot_class_heatmaps(importance, namer=namer, face=mean_face(clips), classes=classes,
                               title=f"{METHOD.name} on held-out synthetic subjects: the blocks "
                                     f"each expression relies on")


def make_tutorial_figures(out, *, cache=None, progress: bool = False) -> dict:
    """Write every figure of the tutorial into ``out`` (see the module docstring).

    Parameters
    ----------
    out : str or Path
        Folder (created).
    cache : str or Path, optional
        Where the synthetic set and the feature store go (default a temporary folder, removed).
    progress : bool

    Returns
    -------
    dict
        ``{"teach", "video", "held_out"}``: the :class:`~.index.Explanation` of each folder.
    """
    from ..datasets.synthetic import load_synthetic
    from ..face.preprocess import preprocess_video
    from ..train import train_model
    from .held_out import explain_held_out
    from .lesson import method_extractors, teaching_figures
    from .video import explain_video

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dfer-tutorial-") as scratch:
        folder = pathlib.Path(cache) if cache else pathlib.Path(scratch)
        run = RunOptions(cache_dir=str(folder), n_jobs=1, progress=progress,
                         measure_memory=False)
        dataset = load_synthetic(folder / "synthetic", progress=progress, **SET)
        training = dataset.subset([i for i, c in enumerate(dataset.clips)
                                   if c.subject != NEW_SUBJECT])
        video = next(c.path for c in dataset.clips
                     if c.subject == NEW_SUBJECT and c.label == NEW_CLASS)
        name = f"the new video ({NEW_SUBJECT}, {NEW_CLASS})"
        experiment = Experiment(DatasetRef("synthetic", str(folder / "synthetic"), dict(SET)),
                                (METHOD,), protocol="kfold", folds=FOLDS, preprocess=PREPROCESS,
                                seed=SEED)
        model = train_model(experiment, run, dataset=training)
        save_figure(_frames_figure(video), out / "video_frames.png")
        explanations = {
            "teach": teaching_figures(preprocess_video(video, PREPROCESS), out=out / "teach",
                                      extractors=method_extractors(model.pipeline), source=name),
            "video": explain_video(video, model, out=out / "video", window=8, stride=2,
                                   name=name, progress=progress),
            "held_out": explain_held_out(model, experiment, run, out=out / "held_out",
                                         n_repeats=REPEATS, source="trained by the tutorial",
                                         dataset=training, progress=progress),
        }
        save_figure(_readme_heatmap(explanations["held_out"], training, model, run),
                    out / "readme_heatmap.png")
    for path in [out / "video_frames.png", out / "readme_heatmap.png",
                 *(p for e in explanations.values() for p in e.paths())]:
        compact_png(path)
    return explanations


def compact_png(path) -> None:
    """Rewrite a PNG at most :data:`DOCS_PIXELS` on its longest side, in 256 colours."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
    scale = DOCS_PIXELS / max(image.size)
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)),
                             Image.Resampling.LANCZOS)
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                   dither=Image.Dither.NONE).save(path, optimize=True)


def check_links(markdown, out) -> list[str]:
    """Images ``markdown`` links inside a folder named like ``out`` that ``out`` lacks."""
    out = pathlib.Path(out)
    markdown = pathlib.Path(markdown)
    missing = []
    for path in index_figures(markdown):
        parts = path.relative_to(markdown.parent).parts
        if parts[0] == out.name and not (out.joinpath(*parts[1:])).is_file():
            missing.append("/".join(parts))
    return missing


def main(argv=None) -> int:
    """``python -m handcrafted_dfer.explain.tutorial OUT [--cache DIR] [--check MARKDOWN]``."""
    parser = argparse.ArgumentParser(
        prog="python -m handcrafted_dfer.explain.tutorial",
        description="Regenerate every figure of docs/tutorial.md on the synthetic set.")
    parser.add_argument("out", metavar="OUT", help="figure folder, e.g. docs/tutorial")
    parser.add_argument("--cache", metavar="DIR",
                        help="keep the synthetic set and features here (default: a temporary "
                        "folder)")
    parser.add_argument("--check", metavar="MARKDOWN",
                        help="then fail unless every image MARKDOWN links in OUT was written")
    parser.add_argument("--progress", action="store_true", help="progress bars")
    args = parser.parse_args(argv)
    if args.check and not pathlib.Path(args.check).is_file():
        parser.error(f"{args.check}: no such markdown file to check")
    explanations = make_tutorial_figures(args.out, cache=args.cache, progress=args.progress)
    for explanation in explanations.values():
        print(f"{explanation.index}: {len(explanation.figures)} figures")
    if args.check:
        missing = check_links(args.check, args.out)
        if missing:
            print(f"{args.check}: these linked figures were not written: {', '.join(missing)}",
                  file=sys.stderr)
            return 1
        print(f"{args.check}: every linked figure in {args.out} was written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
