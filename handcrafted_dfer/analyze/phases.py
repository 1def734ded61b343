"""Segment an intensity curve into neutral, onset, apex and offset phases.

The rule (:func:`segment_phases`):

1. **Noise level** ``sigma``: the robust spread of the curve's changes between frames whose noise
   is independent, ``1.4826 * MAD(curve[t + lag] - curve[t]) / sqrt(2)`` (:func:`noise_level`),
   which expression changes (slow next to the frame rate) barely touch. **Baseline** ``b``: the
   median of the curve over the neutral frames.
2. **Episodes** by hysteresis: a run of frames above ``low = b + low_sigmas * sigma`` is an
   expression episode when it rises above ``high = b + high_sigmas * sigma`` somewhere and lasts at
   least ``min_frames`` frames. Noise alone crosses ``high`` only rarely, and a run that does is
   short, so noise makes no episode.
3. **Phases** of an episode: the apex is the run of frames around the episode's peak that stay at
   or above ``b + apex_fraction * (peak - b)``; onset is from the episode's first frame to the
   apex, offset from the apex to the episode's last frame. Every other frame is neutral.

An episode that touches the first or last frame of the curve is open there (``open_start``,
``open_end``): its rise or fall was not seen, and its duration is reported as NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["PHASES", "NEUTRAL", "ONSET", "APEX", "OFFSET", "PhaseConfig", "Episode", "Phases",
           "noise_level", "segment_phases"]

#: Phase names, indexed by their codes.
PHASES = ("neutral", "onset", "apex", "offset")
NEUTRAL, ONSET, APEX, OFFSET = range(4)


@dataclass(frozen=True)
class PhaseConfig:
    """Thresholds of the phase segmentation (see the module docstring).

    Parameters
    ----------
    high_sigmas : float
        An episode must rise this many noise levels above the baseline.
    low_sigmas : float
        An episode lasts while the curve stays this many noise levels above the baseline
        (``0 <= low_sigmas <= high_sigmas``).
    apex_fraction : float
        The apex holds the frames at or above this fraction of the peak's height above the
        baseline, in (0, 1].
    min_frames : int
        Shortest episode, frames.
    """

    high_sigmas: float = 3.0
    low_sigmas: float = 1.5
    apex_fraction: float = 0.97
    min_frames: int = 5

    def __post_init__(self):
        if not 0 <= self.low_sigmas <= self.high_sigmas:
            raise ValueError(f"need 0 <= low_sigmas <= high_sigmas; got low_sigmas="
                             f"{self.low_sigmas}, high_sigmas={self.high_sigmas}")
        if not 0 < self.apex_fraction <= 1:
            raise ValueError(f"apex_fraction must be in (0, 1]; got {self.apex_fraction}")
        if int(self.min_frames) != self.min_frames or self.min_frames < 1:
            raise ValueError(f"min_frames must be a positive integer; got {self.min_frames!r}")


@dataclass(frozen=True)
class Episode:
    """One expression episode; frames are 0-based indices, ends inclusive.

    Parameters
    ----------
    onset : int
        First frame (start of the onset phase).
    apex_start, apex_end : int
        First and last frame of the apex phase.
    peak : int
        Frame of the highest intensity.
    end : int
        Last frame (end of the offset phase).
    peak_intensity, mean_intensity : float
        Highest and mean intensity over the episode.
    open_start, open_end : bool
        The episode touches the first or last frame of the curve.
    """

    onset: int
    apex_start: int
    peak: int
    apex_end: int
    end: int
    peak_intensity: float
    mean_intensity: float
    open_start: bool
    open_end: bool

    def rise_frames(self) -> float:
        """Frames from the onset to the apex; NaN when the episode is open at its start."""
        return math.nan if self.open_start else float(self.apex_start - self.onset)

    def fall_frames(self) -> float:
        """Frames from the end of the apex to the end of the episode; NaN when it is open there."""
        return math.nan if self.open_end else float(self.end - self.apex_end)


@dataclass(frozen=True, eq=False)
class Phases:
    """The phases of one curve.

    Parameters
    ----------
    labels : ndarray of int8, shape (T,)
        Per frame, an index into :data:`PHASES`.
    episodes : tuple of Episode
        In time order.
    baseline, noise : float
        Baseline ``b`` and noise level ``sigma``.
    low, high : float
        The hysteresis thresholds, in the curve's units.
    """

    labels: np.ndarray
    episodes: tuple
    baseline: float
    noise: float
    low: float
    high: float


def noise_level(curve: np.ndarray, *, lag: int = 1) -> float:
    """Robust noise level of a curve from its changes over ``lag`` frames.

    ``1.4826 * MAD(curve[t + lag] - curve[t]) / sqrt(2)``: the standard deviation of white noise
    on the curve. Use a ``lag`` at which the noise of two samples is independent (the width of
    any temporal pooling that went into the curve).
    """
    curve = np.asarray(curve, dtype=np.float64)
    diffs = curve[lag:] - curve[:-lag]
    diffs = diffs[np.isfinite(diffs)]
    if len(diffs) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(diffs - np.median(diffs))) / math.sqrt(2.0))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and stop (exclusive) of the runs of True."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def segment_phases(curve: np.ndarray, *, neutral: np.ndarray, noise: float,
                   config: PhaseConfig = PhaseConfig()) -> Phases:
    """Neutral, onset, apex and offset phases of an intensity curve.

    Parameters
    ----------
    curve : ndarray, shape (T,)
        Intensity per frame, finite (fill frames without a face first).
    neutral : ndarray of int
        Indices of the neutral frames, whose median is the baseline.
    noise : float
        Noise level of the curve (:func:`noise_level` of the unsmoothed curve).
    config : PhaseConfig

    Returns
    -------
    Phases
    """
    curve = np.asarray(curve, dtype=np.float64)
    if curve.ndim != 1 or not np.all(np.isfinite(curve)):
        raise ValueError("curve must be a finite 1D array")
    baseline = float(np.median(curve[np.asarray(neutral, dtype=np.int64)]))
    low = baseline + config.low_sigmas * noise
    high = baseline + config.high_sigmas * noise
    labels = np.full(len(curve), NEUTRAL, dtype=np.int8)
    episodes = []
    for start, stop in _runs(curve > low):
        start, stop = int(start), int(stop)
        part = curve[start:stop]
        if stop - start < config.min_frames or part.max() <= high:
            continue
        peak = start + int(np.argmax(part))
        level = baseline + config.apex_fraction * (curve[peak] - baseline)
        apex_start, apex_end = peak, peak
        while apex_start > start and curve[apex_start - 1] >= level:
            apex_start -= 1
        while apex_end < stop - 1 and curve[apex_end + 1] >= level:
            apex_end += 1
        labels[start:apex_start] = ONSET
        labels[apex_start:apex_end + 1] = APEX
        labels[apex_end + 1:stop] = OFFSET
        episodes.append(Episode(
            onset=start, apex_start=apex_start, peak=peak, apex_end=apex_end, end=stop - 1,
            peak_intensity=float(curve[peak]), mean_intensity=float(part.mean()),
            open_start=start == 0, open_end=stop == len(curve),
        ))
    return Phases(labels=labels, episodes=tuple(episodes), baseline=baseline, noise=float(noise),
                  low=float(low), high=float(high))
