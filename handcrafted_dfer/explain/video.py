"""Why one video got its label (``dfer explain --model MODEL VIDEO``).

The video is tracked and aligned once at its own length. Resampled to the model's frame count it
is one clip, which the model labels; each block of the clip's feature row is then replaced in turn
by the training clips' mean row (stored in the model file by ``dfer train``) and the blocks whose
removal lowers that label's probability most are drawn over the video's own aligned frames
(:mod:`.occlusion`). The same aligned frames, cut into sliding windows, give its timeline
(:mod:`handcrafted_dfer.analyze.timeline`).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np

from ..analyze.timeline import plot_timeline, predict_windows
from ..pipeline import feature_names, split_features
from .blocks import NO_LANDMARKS, BlockNamer, has_landmarks
from .index import Explanation, FigureWriter
from .occlusion import block_occlusion, plot_block_occlusion

__all__ = ["explain_video"]


def _reference(model, n_features: int) -> tuple[np.ndarray | None, str | None]:
    """The training mean row stored in the model file, or None (zeros) and why."""
    mean = model.metadata.get("feature_mean")
    if mean is not None and len(mean) == n_features:
        return np.asarray(mean, dtype=np.float64), None
    return None, ("This model file holds no training mean (it was written by an older version), "
                  "so removed blocks are replaced by zeros; retrain it with `dfer train` for the "
                  "usual reference.")


def _occlusion_sentence(occlusion, namer, video: str, reference: str) -> str:
    block, effect, new = occlusion.ranking(top=1)[0]
    changed = (f", and the label becomes '{new}'" if new != occlusion.label
               else "; no single block changes the label")
    return (f"Why {video} got '{occlusion.label}' ({occlusion.score} "
            f"{occlusion.baseline:.3f}): each block of its feature row was replaced by "
            f"{reference}, and the heat over its own aligned frames is how much that lowers the "
            f"{occlusion.score} of '{occlusion.label}'; the largest drop, {effect:.3f}, comes "
            f"from the {namer.describe(block)}{changed}.")


def _most(values) -> tuple:
    top = max(sorted(set(values)), key=values.count)
    return top, values.count(top)


def _timeline_sentence(timeline: dict) -> str:
    windows = timeline["windows"]
    shown = [w for w in windows if not w["no_face"]]
    text = (f"Class probabilities over time: {len(windows)} windows of {timeline['window']} "
            f"frames every {timeline['stride']} frames (grey: too few frames with a face)")
    if not shown:
        return text + "; no window shows a face long enough to be labelled."
    probable, n = _most([max(w["probabilities"], key=w["probabilities"].get) for w in shown])
    label, k = _most([w["label"] for w in shown])
    text += f"; the most probable class of most windows is '{probable}' ({n} of {len(windows)})"
    if label != probable:
        text += (f", while the classifier's own decision, which calibration need not follow on "
                 f"close calls, labels most windows '{label}' ({k} of {len(windows)})")
    return text + "."


def explain_video(source, model, *, out: str | os.PathLike, window: int = 16, stride: int = 4,
                  top: int = 8, name: str | None = None, progress: bool = False) -> Explanation:
    """Explain a model's label for one video: block occlusion over its frames and its timeline.

    Parameters
    ----------
    source : str or Path
        Video file or frame folder.
    model : TrainedModel
    out : str or Path
        Folder (created).
    window, stride : int
        Timeline windows, in source frames.
    top : int
        Blocks listed under the occlusion figure.
    name : str, optional
        How the video is named in the figures, the index and ``explanation.json`` (default: its
        file name in the figures and index, its path in the JSON).
    progress : bool

    Returns
    -------
    Explanation
    """
    from ..face.preprocess import preprocess_video  # dlib: imported when a video is explained
    from ..face.preview import save_contact_sheet
    from ..face.temporal import resample_clip

    aligned = preprocess_video(source, model.config, keep_length=True, progress=progress)
    clip = resample_clip(aligned, model.config.frames)
    shown = name or str(source)
    name = name or pathlib.Path(str(source)).name
    writer = FigureWriter(out)
    notes = [f"{name}: {aligned.n_frames} frames ({aligned.n_frames / aligned.fps:.1f} s), a face "
             f"in {int(aligned.valid.sum())} of them; model {model.method}."]
    if not has_landmarks(clip):
        notes.append(f"This video has {NO_LANDMARKS}.")
    writer.add(lambda path: save_contact_sheet(clip, path), "aligned_frames",
               heading="What the model saw",
               caption=f"The {clip.n_frames} aligned frames the model reads (the video resampled "
                       f"to its frame count, {clip.size} x {clip.size} grey)"
                       + (", landmarks in green; frames without a face are crossed out in red."
                          if has_landmarks(clip) else f"; {NO_LANDMARKS}."))
    probabilities = model.pipeline.predict_proba([clip])[0]
    data = {"video": shown, "method": model.method,
            "label": model.labels[int(model.pipeline.predict([clip])[0])],
            "probabilities": {n: float(p) for n, p in zip(model.class_names, probabilities)}}
    features, head = split_features(model.pipeline)
    if features is None:
        notes.append("The 3D CNN has no named blocks: only its timeline is shown.")
    else:
        names = list(feature_names(model.pipeline))
        row = features.transform([clip])[0]
        reference, missing = _reference(model, len(names))
        occlusion = block_occlusion(head, row, feature_names=names, reference=reference)
        occlusion = dataclasses.replace(
            occlusion, label=model.labels[int(occlusion.label)],
            new_labels=tuple(model.labels[int(c)] for c in occlusion.new_labels))
        measured = has_landmarks(clip) and clip.valid.any()
        namer = BlockNamer.from_feature_names(
            names, landmarks=clip.landmarks[clip.valid].mean(axis=0) if measured else None,
            size=clip.size)
        writer.add(plot_block_occlusion(occlusion, clip=dataclasses.replace(clip, source=name),
                                        namer=namer, top=top), "occlusion",
                   heading="Why this label",
                   caption=_occlusion_sentence(occlusion, namer, name,
                                               "zeros" if missing else "the training mean"))
        if missing:
            notes.append(missing)
        data["occlusion"] = occlusion.to_dict()
    timeline = {**predict_windows(aligned, model, window=window, stride=stride), "video": shown}
    writer.add(lambda path: plot_timeline(timeline, path), "timeline", heading="Over time",
               caption=_timeline_sentence(timeline))
    data["timeline"] = {k: v for k, v in timeline.items() if k != "seconds"}  # reproducible
    return writer.finish(title=f"Why {name} got '{data['label']}'", notes=notes, data=data)
