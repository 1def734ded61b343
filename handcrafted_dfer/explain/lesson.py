"""The five teaching figures of one clip, drawn with the extractor parameters of a method
(``dfer explain --teach CLIP.npz|VIDEO``): how LBP-TOP, 3D-HOG and HOF/MBH see it.

The figures are those of :mod:`.teach`; this module picks their parameters from a method's
extractors (so that a teacher shows exactly what a model reads: its LBP-TOP radius and grid, its
3D-HOG polyhedron, its flow algorithm) and writes them with one sentence each.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..features import make_extractor
from .blocks import NO_LANDMARKS, has_landmarks
from .index import Explanation, FigureWriter
from .teach import (flow_pair, hog3d_cell, lbp_code_at, plot_block_histograms, plot_flow,
                    plot_hog3d_cell, plot_lbp_code, plot_motion_slices)

__all__ = ["method_extractors", "teaching_figures"]

#: The extractors the teaching figures draw, in figure order.
_TAUGHT = ("lbptop", "hog3d", "flow")


def method_extractors(pipeline) -> dict:
    """``{name: extractor}`` of a handcrafted method's pipeline (its feature union's steps,
    unwrapped from their feature-store wrappers); empty for the 3D CNN."""
    if "features" not in pipeline.named_steps:
        return {}
    return {name: getattr(step, "extractor", step)
            for name, step in pipeline.named_steps["features"].transformer_list}


def _per_plane(value, plane: int):
    """One plane's value of an LBP-TOP parameter given once or per plane/axis."""
    return value if np.ndim(value) == 0 else tuple(value)[plane]


def _mouth_corner(clip, frame: int, margin: int) -> tuple[int, int]:
    """(row, col) of the person's right mouth corner on ``frame`` (the frame's centre without
    landmarks), kept ``margin`` pixels inside the frame."""
    size = clip.frames.shape[1]
    if has_landmarks(clip) and clip.valid[frame]:
        x, y = clip.landmarks[frame, 48]
        point = (int(round(y)), int(round(x)))
    else:
        point = (size // 2, size // 2)
    return tuple(int(np.clip(v, margin, size - 1 - margin)) for v in point)


def teaching_figures(clip, *, out: str | os.PathLike, extractors: dict | None = None,
                     frame: int | None = None, source: str | None = None) -> Explanation:
    """Write the five teaching figures of a clip into ``out`` with their index.

    Parameters
    ----------
    clip : AlignedClip
    out : str or Path
        Folder (created).
    extractors : dict, optional
        ``{name: extractor}`` whose parameters the figures use (:func:`method_extractors` of a
        method's pipeline); an extractor not given takes its defaults.
    frame : int, optional
        Frame of the LBP and flow figures (default: the middle one).
    source : str, optional
        How the clip is named in the index (default its source).

    Returns
    -------
    Explanation
    """
    chosen = {name: (extractors or {}).get(name) or make_extractor(name) for name in _TAUGHT}
    lbp, hog, flow = (chosen[name] for name in _TAUGHT)
    n = clip.frames.shape[0]
    frame = n // 2 if frame is None else int(frame)
    if not 0 <= frame < n:
        raise ValueError(f"frame must be in [0, {n - 1}]; got {frame}")
    writer = FigureWriter(out)
    source = source or clip.source
    heading_lbp = "LBP-TOP (Zhao & Pietikäinen 2007)"

    P_xy, P_xt = _per_plane(lbp.P, 0), _per_plane(lbp.P, 1)
    r_t, r_x = _per_plane(lbp.radius, 0), _per_plane(lbp.radius, 2)
    row, col = _mouth_corner(clip, frame, math.ceil(r_x))
    code = lbp_code_at(clip.frames[frame], row=row, col=col, P=P_xy, radius=r_x,
                       mapping=lbp.mapping)
    writer.add(plot_lbp_code(clip.frames[frame], row=row, col=col, P=P_xy, radius=r_x,
                             mapping=lbp.mapping), "lbp_code", heading=heading_lbp,
               caption=f"Frame {frame} as LBP codes (P={P_xy}, R={r_x:g}, {lbp.mapping}), and "
                       f"the pixel at row {row}, column {col} written out: each of its "
                       f"{P_xy} neighbours at least as bright as the centre is a 1, giving bits "
                       f"{code.bit_string} = code {code.code}, histogram bin {code.bin} "
                       f"({code.label}).")
    writer.add(plot_motion_slices(clip, P=P_xt, radius=r_t, frame=frame), "motion_slices",
               heading=heading_lbp,
               caption="A row and a column of the face followed through time: the XT and YT "
                       "slices whose texture LBP-TOP's motion planes describe (vertical stripes "
                       "where the face is still, slanted ones where it moves)"
                       + ("." if has_landmarks(clip) else f"; {NO_LANDMARKS}, so the lines "
                          "cross the centre of the crop."))
    grid = tuple(lbp.grid)
    writer.add(plot_block_histograms(clip, grid=grid, P=lbp.P, radius=lbp.radius,
                                     mapping=lbp.mapping), "block_histograms", heading=heading_lbp,
               caption=f"The clip cut into a {grid[1]} x {grid[2]} grid of blocks (first of "
                       f"{grid[0]} temporal segment(s)), and each block's XY, XT and YT "
                       f"histograms: the LBP-TOP descriptor is these histograms laid end to end.")
    cell = hog3d_cell(clip, grid=hog.grid, polyhedron=hog.polyhedron, half=hog.half)
    best = int(np.argmax(cell.vote))
    writer.add(plot_hog3d_cell(clip, grid=hog.grid, polyhedron=hog.polyhedron, half=hog.half),
               "hog3d_cell", heading="3D-HOG (Kläser, Marszałek & Schmid 2008)",
               caption=f"The 3D-HOG cell with the most gradient (segment {cell.cell[0]}, row "
                       f"{cell.cell[1]}, column {cell.cell[2]}): its strongest space-time "
                       f"gradient votes mostly for face {best} of the {hog.polyhedron} "
                       f"({cell.labels[best]}), and the votes of all its voxels add up to the "
                       f"cell's histogram.")
    pair = min(frame, n - 2)
    flows = flow_pair(clip, frame=pair, method=flow.method, n_bins=flow.n_bins,
                      motion_threshold=flow.motion_threshold)
    writer.add(plot_flow(clip, frame=pair, method=flow.method, n_bins=flow.n_bins,
                         motion_threshold=flow.motion_threshold), "flow",
               heading="HOF and MBH (Dalal, Triggs & Schmid 2006)",
               caption=f"The dense optical flow ({flow.method}) from frame {pair} to {pair + 1} "
                       f"and its histograms: HOF counts where pixels move (largest bin here: "
                       f"{flows.hof_labels[int(np.argmax(flows.hof))]}), MBHx and MBHy where the "
                       f"horizontal and vertical motion changes across the face.")
    notes = [f"How the handcrafted descriptors see {source} ({n} aligned frames of "
             f"{clip.frames.shape[1]} x {clip.frames.shape[2]} pixels)."]
    if not has_landmarks(clip):
        notes.append(f"This clip has {NO_LANDMARKS}.")
    params = {name: {k: v for k, v in e.get_params().items()
                     if isinstance(v, (int, float, str, bool, list, tuple))}
              for name, e in chosen.items()}
    return writer.finish(title=f"How LBP-TOP, 3D-HOG and HOF/MBH see {os.path.basename(source)}",
                         notes=notes, data={"source": str(source), "frame": frame,
                                            "extractors": params,
                                            "lbp_pixel": {"row": row, "col": col,
                                                          "bits": code.bit_string,
                                                          "code": code.code, "bin": code.bin,
                                                          "label": code.label}})
