"""Expression dynamics of a face track: intensity curves and their onset, apex and offset.

One call, :func:`expression_dynamics` on an :class:`~handcrafted_dfer.clip.AlignedClip` at the
source's length (or :func:`video_dynamics` on a video), gives a :class:`Dynamics`:

1. the neutral frames (given, or chosen by :func:`~.intensity.find_neutral_frames`);
2. per space (``landmarks``, ``features``) and region (``face``, ``brows``, ``eyes``, ``nose``,
   ``mouth``, ``jaw``) an intensity curve: the change from the neutral reference
   (:mod:`.intensity`), smoothed in time by a Gaussian of ``smooth`` frames;
3. per curve, its phases and episodes (:mod:`.phases`).

No classifier is involved: intensity says how much the face has changed, not into what. Landmark
intensity is in inter-ocular distances (IOD); feature intensity is a chi-square distance between
LBP histograms (0 to 1). Other changes count as well: head rotation out of the image plane (the
alignment is a 2D similarity), light moving over the face, an occlusion (a hand over the mouth
changes the mouth's texture more than a smile), and a tracker that re-fits the landmarks.

Tables (pandas): :meth:`Dynamics.episodes_table` has one row per episode and curve, with the
columns :data:`EPISODE_COLUMNS`:

``space, region``
    The curve.
``episode``
    1, 2, ... in time order within the curve.
``onset_frame, apex_frame, peak_frame, apex_end_frame, end_frame``
    First frame, first and last frame of the apex, frame of the peak, last frame (0-based).
``onset_s, apex_s, peak_s, end_s``
    The same frames as times, ``frame / fps``.
``rise_s, apex_duration_s, fall_s``
    Onset to apex, apex length, apex end to episode end; NaN for a rise or fall not observed
    (the episode touches the start or the end of the track).
``peak_intensity, mean_intensity``
    Highest and mean smoothed intensity over the episode.
``baseline, noise``
    The curve's neutral baseline and noise level (same units as the intensity).
``open_start, open_end``
    Whether the episode touches the first or last frame.

:meth:`Dynamics.frames_table` has one row per frame: frame, time, validity, neutral membership,
and per curve its intensity and phase name.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure
from scipy.ndimage import gaussian_filter1d

from ..clip import AlignedClip
from ..config import PreprocessConfig
from .intensity import (FACE, REGIONS, block_distances, block_histograms, find_neutral_frames,
                        landmark_displacements, region_blocks, register_clip)
from .phases import APEX, OFFSET, ONSET, PHASES, PhaseConfig, Phases, noise_level, segment_phases

__all__ = [
    "DYNAMICS_PREPROCESS",
    "SPACES",
    "CURVE_REGIONS",
    "EPISODE_COLUMNS",
    "DynamicsConfig",
    "Curve",
    "Dynamics",
    "expression_dynamics",
    "video_dynamics",
    "plot_dynamics",
]

#: The two intensity spaces.
SPACES = ("landmarks", "features")
#: Curves per space: the inner face, then each region.
CURVE_REGIONS = ("face", *REGIONS)
#: Columns of :meth:`Dynamics.episodes_table` (described in the module docstring).
EPISODE_COLUMNS = (
    "space", "region", "episode",
    "onset_frame", "apex_frame", "peak_frame", "apex_end_frame", "end_frame",
    "onset_s", "apex_s", "peak_s", "end_s",
    "rise_s", "apex_duration_s", "fall_s",
    "peak_intensity", "mean_intensity", "baseline", "noise",
    "open_start", "open_end",
)
_UNITS = {"landmarks": "displacement (IOD)", "features": "LBP chi-square distance"}


@dataclass(frozen=True)
class DynamicsConfig:
    """How intensity curves are computed and segmented.

    Parameters
    ----------
    grid : (int, int)
        LBP blocks along y and x over the aligned crop (feature space).
    lbp_radius : float
        Spatial LBP radius, pixels.
    blur : float
        Gaussian sigma (pixels) applied to the crop before LBP, against pixel noise.
    window : int
        Each frame's LBP histograms pool ``2 * window + 1`` frames.
    smooth : float
        Gaussian sigma (frames) of the temporal smoothing of every curve; 0 for none.
    neutral_fraction : float
        Share of the valid frames that make the automatic neutral reference.
    sweep_rho : float
        Spearman threshold of the sweep test of :func:`~.intensity.find_neutral_frames`.
    phases : PhaseConfig
        Hysteresis and apex thresholds.
    """

    grid: tuple = (6, 6)
    lbp_radius: float = 2.0
    blur: float = 1.0
    window: int = 1
    smooth: float = 1.0
    neutral_fraction: float = 0.2
    sweep_rho: float = 0.5
    phases: PhaseConfig = field(default_factory=PhaseConfig)

    def __post_init__(self):
        grid = tuple(self.grid)
        if len(grid) != 2 or not all(int(g) == g and g >= 1 for g in grid):
            raise ValueError(f"grid must be two positive integers (rows, columns); got {grid!r}")
        object.__setattr__(self, "grid", tuple(int(g) for g in grid))
        for name in ("lbp_radius",):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive; got {getattr(self, name)!r}")
        for name in ("blur", "smooth"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)!r}")
        if int(self.window) != self.window or self.window < 0:
            raise ValueError(f"window must be a non-negative integer; got {self.window!r}")
        if not 0 < self.neutral_fraction <= 1:
            raise ValueError(f"neutral_fraction must be in (0, 1]; got {self.neutral_fraction!r}")
        if not -1 <= self.sweep_rho <= 1:
            raise ValueError(f"sweep_rho must be in [-1, 1]; got {self.sweep_rho!r}")


@dataclass(frozen=True, eq=False)
class Curve:
    """The intensity curve of one space and region, and its phases.

    Parameters
    ----------
    space : {"landmarks", "features"}
    region : str
        ``face`` or a key of :data:`~.intensity.REGIONS`.
    raw : ndarray of float64, shape (T,)
        Unsmoothed intensity; NaN where the frame has no face.
    intensity : ndarray of float64, shape (T,)
        ``raw`` with frames without a face filled from their neighbours, smoothed in time.
    phases : Phases
    """

    space: str
    region: str
    raw: np.ndarray
    intensity: np.ndarray
    phases: Phases

    @property
    def episodes(self) -> tuple:
        """The curve's episodes (:class:`~.phases.Episode`), in time order."""
        return self.phases.episodes


@dataclass(frozen=True, eq=False)
class Dynamics:
    """Expression dynamics of one face track.

    Parameters
    ----------
    source : str
        The video or frame folder.
    fps : float
    valid : ndarray of bool, shape (T,)
        Frames with a face.
    neutral : ndarray of int64
        The neutral reference frames.
    neutral_rule : {"given", "start", "median"}
        How they were chosen (:func:`~.intensity.find_neutral_frames`).
    curves : tuple of Curve
        Every space and region, in the order of :data:`SPACES` and :data:`CURVE_REGIONS`.
    config : DynamicsConfig
    """

    source: str
    fps: float
    valid: np.ndarray
    neutral: np.ndarray
    neutral_rule: str
    curves: tuple
    config: DynamicsConfig

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return len(self.valid)

    @property
    def times(self) -> np.ndarray:
        """Time of every frame, seconds."""
        return np.arange(self.n_frames) / self.fps

    def curve(self, space: str = "landmarks", region: str = "face") -> Curve:
        """The curve of one space and region."""
        for c in self.curves:
            if c.space == space and c.region == region:
                return c
        raise KeyError(f"no curve for space {space!r} and region {region!r}; spaces: "
                       f"{', '.join(SPACES)}; regions: {', '.join(CURVE_REGIONS)}")

    def episodes_table(self):
        """One row per episode and curve, columns :data:`EPISODE_COLUMNS` (a DataFrame)."""
        import pandas as pd

        rows = []
        for c in self.curves:
            for number, e in enumerate(c.episodes, start=1):
                rows.append((
                    c.space, c.region, number,
                    e.onset, e.apex_start, e.peak, e.apex_end, e.end,
                    e.onset / self.fps, e.apex_start / self.fps, e.peak / self.fps,
                    e.end / self.fps,
                    e.rise_frames() / self.fps, (e.apex_end - e.apex_start + 1) / self.fps,
                    e.fall_frames() / self.fps,
                    e.peak_intensity, e.mean_intensity, c.phases.baseline, c.phases.noise,
                    e.open_start, e.open_end,
                ))
        return pd.DataFrame(rows, columns=list(EPISODE_COLUMNS))

    def frames_table(self):
        """One row per frame: frame, time_s, valid, neutral, then ``SPACE_REGION`` (intensity)
        and ``SPACE_REGION_phase`` (phase name) for every curve (a DataFrame)."""
        import pandas as pd

        neutral = np.zeros(self.n_frames, dtype=bool)
        neutral[self.neutral] = True
        columns = {"frame": np.arange(self.n_frames), "time_s": self.times,
                   "valid": self.valid, "neutral": neutral}
        names = np.array(PHASES)
        for c in self.curves:
            columns[f"{c.space}_{c.region}"] = c.intensity
            columns[f"{c.space}_{c.region}_phase"] = names[c.phases.labels]
        return pd.DataFrame(columns)

    def to_dict(self) -> dict:
        """Everything as plain JSON-ready values (NaN as None)."""

        def plain(value):
            if isinstance(value, float) and not math.isfinite(value):
                return None
            return value

        curves = []
        for c in self.curves:
            p = c.phases
            curves.append({
                "space": c.space, "region": c.region, "units": _UNITS[c.space],
                "baseline": p.baseline, "noise": p.noise, "low": p.low, "high": p.high,
                "n_episodes": len(c.episodes),
                "episodes": [{k: plain(v) for k, v in dataclasses.asdict(e).items()}
                             for e in c.episodes],
                "intensity": [plain(float(v)) for v in c.intensity],
                "phases": [PHASES[k] for k in p.labels],
            })
        return {
            "source": self.source, "fps": self.fps, "n_frames": self.n_frames,
            "duration_s": self.n_frames / self.fps,
            "valid_fraction": float(self.valid.mean()),
            "neutral_rule": self.neutral_rule, "neutral_frames": self.neutral.tolist(),
            "config": dataclasses.asdict(self.config),
            "curves": curves,
        }


def _given_neutral(neutral, clip: AlignedClip) -> np.ndarray:
    try:
        start, stop = (int(v) for v in neutral)
    except (TypeError, ValueError):
        raise ValueError(f"neutral frames must be a pair (start, stop); got {neutral!r}") from None
    if not 0 <= start < stop <= clip.n_frames:
        raise ValueError(f"{clip.source}: neutral frames {start}:{stop} must satisfy "
                         f"0 <= start < stop <= {clip.n_frames} (the clip's frame count)")
    frames = np.arange(start, stop)[clip.valid[start:stop]]
    if len(frames) == 0:
        raise ValueError(f"{clip.source}: no face was found in the neutral frames "
                         f"{start}:{stop}")
    return frames


def _fill_and_smooth(raw: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    index = np.arange(len(raw))
    filled = np.interp(index, index[valid], raw[valid])
    return gaussian_filter1d(filled, sigma, mode="nearest") if sigma > 0 else filled


def expression_dynamics(clip: AlignedClip, *, neutral: tuple[int, int] | None = None,
                        config: DynamicsConfig = DynamicsConfig()) -> Dynamics:
    """Intensity curves, phases and episodes of a face track.

    Parameters
    ----------
    clip : AlignedClip
        One aligned frame per source frame (``track_and_align``, or ``preprocess_video`` with
        ``keep_length=True``); a clip resampled in time has lost the source's timing.
    neutral : (int, int) or None
        Half-open range ``start, stop`` of frames known to be neutral (their frames without a
        face are skipped); None to find them (:func:`~.intensity.find_neutral_frames`).
    config : DynamicsConfig

    Returns
    -------
    Dynamics

    Raises
    ------
    ValueError
        If the neutral range lies outside the clip or holds no frame with a face, or the clip has
        fewer than 2 frames.
    """
    if clip.n_frames < 2:
        raise ValueError(f"{clip.source}: expression dynamics need at least 2 frames; "
                         f"got {clip.n_frames}")
    valid = clip.valid
    if not valid.any():
        raise ValueError(f"{clip.source}: no frame of the clip has a face")
    landmarks, crops = register_clip(clip)
    histograms = block_histograms(crops, grid=config.grid, radius=config.lbp_radius,
                                  blur=config.blur, window=config.window)

    def feature_distance(frames: np.ndarray) -> np.ndarray:
        return block_distances(histograms, frames, window=config.window).mean(axis=(1, 2))

    if neutral is None:
        frames, rule = find_neutral_frames(landmarks, valid, fraction=config.neutral_fraction,
                                           sweep_rho=config.sweep_rho,
                                           other_distance=feature_distance)
    else:
        frames, rule = _given_neutral(neutral, clip), "given"
    reference = landmarks[frames].mean(axis=0)
    per_landmark = landmark_displacements(landmarks, frames)
    per_block = block_distances(histograms, frames, window=config.window)
    margin = math.ceil(config.lbp_radius)
    blocks = region_blocks(reference, size=clip.size, grid=config.grid, margin=margin)
    landmark_sets = {"face": tuple(i for name in FACE for i in REGIONS[name]), **REGIONS}

    curves = []
    for space in SPACES:
        for region in CURVE_REGIONS:
            if space == "landmarks":
                raw = per_landmark[:, list(landmark_sets[region])].mean(axis=1)
            elif blocks[region].any():
                raw = per_block[:, blocks[region]].mean(axis=1)
            else:  # the region's landmarks all fall outside the LBP grid
                raw = np.zeros(clip.n_frames)
            raw = np.where(valid, raw, np.nan)
            smooth = _fill_and_smooth(raw, valid, config.smooth)
            lag = 1 if space == "landmarks" else 2 * config.window + 1  # independent noise
            phases = segment_phases(smooth, neutral=frames, noise=noise_level(raw[valid], lag=lag),
                                    config=config.phases)
            curves.append(Curve(space=space, region=region, raw=raw, intensity=smooth,
                                phases=phases))
    return Dynamics(source=clip.source, fps=clip.fps, valid=valid.copy(), neutral=frames,
                    neutral_rule=rule, curves=tuple(curves), config=config)


#: Preprocessing of :func:`video_dynamics`: the crop reaches under the chin (crop side 1.1 box
#: units), wider than the classification default, because the jaw is one of the regions measured.
DYNAMICS_PREPROCESS = PreprocessConfig(crop_side=1.1)


def video_dynamics(source: str | os.PathLike | np.ndarray, *,
                   neutral: tuple[int, int] | None = None,
                   config: DynamicsConfig = DynamicsConfig(),
                   preprocess: PreprocessConfig = DYNAMICS_PREPROCESS,
                   progress: bool = False) -> Dynamics:
    """:func:`expression_dynamics` of the face in a video file, frame folder or frame array.

    The face is tracked and aligned in every frame
    (:func:`~handcrafted_dfer.face.preprocess.track_and_align` with ``preprocess``).

    Raises
    ------
    VideoReadError, NoFaceError
        As :func:`~handcrafted_dfer.face.preprocess.track_and_align`.
    ValueError
        As :func:`expression_dynamics`.
    """
    from ..face.preprocess import track_and_align

    clip, _ = track_and_align(source, preprocess, progress=progress)
    return expression_dynamics(clip, neutral=neutral, config=config)


_SHADES = {ONSET: ("#f4a261", "onset"), APEX: ("#e63946", "apex"), OFFSET: ("#8ecae6", "offset")}
_REGION_COLOURS = {"brows": "#6a4c93", "eyes": "#1982c4", "nose": "#8ac926", "mouth": "#ff595e",
                   "jaw": "#8d8d8d"}


def _shade(ax, times: np.ndarray, labels: np.ndarray, step: float) -> None:
    for code, (colour, name) in _SHADES.items():
        edges = np.diff(np.r_[0, (labels == code).astype(np.int8), 0])
        for k, (a, b) in enumerate(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))):
            ax.axvspan(times[a] - step / 2, times[b - 1] + step / 2, color=colour, alpha=0.3,
                       lw=0, label=name if k == 0 else None)


def plot_dynamics(dynamics: Dynamics) -> Figure:
    """The intensity curves with their phases.

    Per space, a panel of the face curve with its onset, apex and offset shaded, its thresholds
    (dashed) and its neutral reference frames (grey ticks), and a panel of the region curves, each
    region's episodes drawn as a bar under the curves with a dot at the apex. Frames without a
    face are hatched.

    Returns
    -------
    matplotlib.figure.Figure
        Save it with ``fig.savefig(path)``.
    """
    fig = Figure(figsize=(11, 9))
    axes = fig.subplots(4, 1, sharex=True)
    t = dynamics.times
    step = 1.0 / dynamics.fps
    missing = np.flatnonzero(~dynamics.valid)
    for row, space in enumerate(SPACES):
        face_ax, region_ax = axes[2 * row], axes[2 * row + 1]
        face = dynamics.curve(space, "face")
        _shade(face_ax, t, face.phases.labels, step)
        face_ax.plot(t, face.raw, color="0.6", lw=0.8, label="raw")
        face_ax.plot(t, face.intensity, color="k", lw=1.4, label="smoothed")
        face_ax.axhline(face.phases.high, color="k", ls="--", lw=0.7)
        face_ax.axhline(face.phases.low, color="k", ls=":", lw=0.7)
        face_ax.plot(t[dynamics.neutral], np.full(len(dynamics.neutral), face.phases.baseline),
                     "|", color="0.4", ms=8, label="neutral frames")
        face_ax.set_ylabel(f"{space}\n{_UNITS[space]}", fontsize=8)
        face_ax.set_title(f"{space}: face (brows, eyes, nose, mouth), "
                          f"{len(face.episodes)} episode(s)", fontsize=9)
        face_ax.legend(loc="upper left", fontsize=7, ncol=6)
        top = np.nanmax([np.nanmax(c.intensity) for c in dynamics.curves if c.space == space])
        for k, region in enumerate(REGIONS):
            c = dynamics.curve(space, region)
            colour = _REGION_COLOURS[region]
            region_ax.plot(t, c.intensity, color=colour, lw=1.1, label=region)
            y = -0.04 * (k + 1) * top
            for e in c.episodes:
                region_ax.plot([t[e.onset], t[e.end]], [y, y], color=colour, lw=3,
                               solid_capstyle="butt")
                region_ax.plot(t[e.peak], y, "o", color=colour, ms=4, mec="k", mew=0.5)
        region_ax.set_ylabel(f"{space}\nby region", fontsize=8)
        region_ax.legend(loc="upper left", fontsize=7, ncol=5)
        for ax in (face_ax, region_ax):
            for f in missing:
                ax.axvspan(t[f] - step / 2, t[f] + step / 2, color="0.85", hatch="//", lw=0)
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(t[0] - step / 2, t[-1] + step / 2)
    fig.suptitle(f"{os.path.basename(dynamics.source)}: expression intensity from the neutral "
                 f"reference ({dynamics.neutral_rule} rule, {len(dynamics.neutral)} frames)",
                 fontsize=10)
    fig.tight_layout()
    return fig
