"""The clip stage of a run: every dataset clip to an aligned clip, cached, in parallel.

A clip that cannot be read or has no face is recorded (its id, path and reason) and skipped; the
failure is cached too, so a rerun does not retry it. Warnings raised while a clip is preprocessed
(e.g. a one-frame clip stretched to ``frames``) are cached with it and logged on every run (logger
``handcrafted_dfer.evaluate.clips``), so that the runner records them in the report. Damaged cache
entries are healed (see :class:`~handcrafted_dfer.features.store.FeatureStore`).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import warnings
from dataclasses import dataclass

import numpy as np

from ..clip import AlignedClip
from ..config import PreprocessConfig, RunOptions
from ..errors import DferError, VideoReadError
from ..features.store import FeatureStore, StoredClips
from ..parallel import parallel_map

__all__ = ["PreparedClips", "prepare_clips"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedClips:
    """The outcome of the clip stage.

    Attributes
    ----------
    clips : StoredClips
        One per dataset clip, read from the cache when accessed (none is held in memory); None
        where it failed.
    skipped : list of dict
        ``{"clip", "path", "reason"}`` of every failed clip.
    counts : dict
        ``clips_computed`` and ``clips_loaded`` (from the cache).
    healed : list of dict
        Damaged cache entries found, deleted and recomputed (``{"path", "reason"}``).
    """

    clips: list
    skipped: list
    counts: dict
    healed: list

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the clips that were prepared."""
        return self.clips.present


def _frame_range(clip) -> tuple | None:
    """The half-open frame range ``extra["frames"]`` of a dataset clip (see ``load_ckplus``)."""
    frames = clip.extra.get("frames")
    return None if frames is None else (int(frames[0]), int(frames[1]))


def _preprocess_one(source, frame_range, config: PreprocessConfig, store_root: str, key: str):
    """Preprocess one source in a worker and cache the outcome; returns (prepared, reason,
    warnings). The clip itself stays in the cache (only a flag travels back)."""
    from ..face.preprocess import preprocess_video
    from ..video import open_video

    store = FeatureStore(store_root, tidy=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if frame_range is None:
                aligned = preprocess_video(source, config)
            else:
                stream = open_video(source)
                frames = list(itertools.islice(stream, *frame_range))
                if not frames:
                    raise VideoReadError(source, f"expected frames {frame_range[0]}.."
                                                 f"{frame_range[1] - 1} in this folder; it has "
                                                 f"fewer")
                aligned = dataclasses.replace(
                    preprocess_video(np.stack(frames), config), fps=stream.fps,
                    source=f"{source}[{frame_range[0]}:{frame_range[1]}]")
        except DferError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            store.save_failure(key, reason)
            return False, reason, []
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    store.save_clip(key, aligned, warnings=messages)
    return True, None, messages


def _log_warnings(messages) -> None:
    """Log a clip's preprocessing warnings (they name their source; identical ones of many clips
    are counted together in the report)."""
    for message in messages:
        _log.warning("%s", message)


def prepare_clips(dataset, config: PreprocessConfig, run: RunOptions) -> PreparedClips:
    """Aligned clips of every dataset clip, from the cache where possible.

    Parameters
    ----------
    dataset : Dataset
    config : PreprocessConfig
    run : RunOptions
        ``cache_dir`` (required here), ``n_jobs``, ``backend``, ``progress``.

    Returns
    -------
    PreparedClips
    """
    if run.cache_dir is None:
        raise ValueError("the clip stage needs a cache folder (RunOptions.cache_dir)")
    store = FeatureStore(run.cache_dir)
    keys, ready, reasons, todo = [], [], [], []
    for i, clip in enumerate(dataset.clips):
        frame_range = _frame_range(clip)
        try:
            keys.append(store.clip_key(clip.source, config, selection=frame_range))
        except DferError as exc:  # the source does not exist: nothing to cache
            keys.append(None)
            ready.append(False)
            reasons.append(f"{type(exc).__name__}: {exc}")
            continue
        cached = store.load_clip(keys[i])  # read once to check it (a damaged entry is healed)
        ready.append(isinstance(cached, AlignedClip))
        reasons.append(cached if isinstance(cached, str) else None)
        if cached is None:
            todo.append(i)
        elif ready[i]:
            _log_warnings(store.clip_warnings(keys[i]))
    tasks = [(dataset.clips[i].source, _frame_range(dataset.clips[i]), config, str(store.root),
              keys[i]) for i in todo]
    outcomes = parallel_map(_preprocess_one, tasks, n_jobs=run.n_jobs, backend=run.backend,
                            progress=run.progress, desc="preprocess")
    for i, (prepared, reason, messages) in zip(todo, outcomes):
        ready[i], reasons[i] = prepared, reason
        _log_warnings(messages)
    store.counts["clips_computed"] += len(todo)
    skipped = [{"clip": c.id, "path": c.path, "reason": r}
               for c, r in zip(dataset.clips, reasons) if r is not None]
    counts = {k: store.counts[k] for k in ("clips_computed", "clips_loaded")}
    clips = StoredClips(store.root, [k if r else None for k, r in zip(keys, ready)])
    return PreparedClips(clips, skipped, counts, list(store.healed))
