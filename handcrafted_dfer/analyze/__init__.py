"""Video analysis beyond a label per window.

* :mod:`.timeline` slides a trained model over a video: a label and class probabilities per window;
* :mod:`.intensity` measures how far each frame is from the person's neutral face, in landmark and
  LBP feature space, per face region;
* :mod:`.phases` segments an intensity curve into neutral, onset, apex and offset;
* :mod:`.dynamics` runs both on a clip or video and gives tables and a figure.
"""

from .dynamics import (CURVE_REGIONS, EPISODE_COLUMNS, SPACES, Curve, Dynamics, DynamicsConfig,
                       expression_dynamics, plot_dynamics, video_dynamics)
from .intensity import FACE, REGIONS, find_neutral_frames
from .phases import PHASES, Episode, PhaseConfig, Phases, segment_phases

__all__ = [
    "CURVE_REGIONS",
    "EPISODE_COLUMNS",
    "SPACES",
    "Curve",
    "Dynamics",
    "DynamicsConfig",
    "expression_dynamics",
    "plot_dynamics",
    "video_dynamics",
    "FACE",
    "REGIONS",
    "find_neutral_frames",
    "PHASES",
    "Episode",
    "PhaseConfig",
    "Phases",
    "segment_phases",
]
