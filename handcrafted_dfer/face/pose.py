"""Head pose (yaw, pitch, roll) from the 68 landmarks, through ``cv2.solvePnP`` on a generic face.

The 3D face is the six-point generic model of Mallick's tutorial [1]_ (nose tip, chin, the outer
eye corners and the mouth corners, in arbitrary units of about 0.2 mm), matched to dlib's points
30, 8, 36, 45, 48 and 54. Its frame is right-handed: x toward the image's right, y up, z out of
the face toward the camera (the nose tip is the origin). The camera is a pinhole with a focal
length of the frame's width, the principal point at the frame's centre, and no distortion.

The head's rotation from a face that looks straight into the camera is
``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)`` about the model's axes (scipy's intrinsic ``"YXZ"``
Euler angles), so that

- **yaw > 0**: the face turns toward the image's right (the person's left);
- **pitch > 0**: the nose goes down (the head bows);
- **roll > 0**: the head tilts counter-clockwise as seen in the image.

A generic model and a guessed focal length give angles good to a few degrees on a face like the
model's, not a measurement; they are what OpenFace-style tables report as pose.

References
----------
.. [1] S. Mallick, "Head Pose Estimation using OpenCV and Dlib", LearnOpenCV, 2016,
       https://learnopencv.com/head-pose-estimation-using-opencv-and-dlib/
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

__all__ = ["POSE_ANGLES", "MODEL_POINTS", "MODEL_LANDMARKS", "camera_matrix", "head_pose"]

#: Column order of :func:`head_pose`.
POSE_ANGLES = ("yaw", "pitch", "roll")

#: The generic 3D face [1]_: nose tip, chin, outer corner of the image-left eye, outer corner of
#: the image-right eye, image-left and image-right mouth corners (x right, y up, z to the camera).
MODEL_POINTS = np.array([
    [0.0, 0.0, 0.0],
    [0.0, -330.0, -65.0],
    [-225.0, 170.0, -135.0],
    [225.0, 170.0, -135.0],
    [-150.0, -150.0, -125.0],
    [150.0, -150.0, -125.0],
])
MODEL_POINTS.setflags(write=False)

#: The 68-point landmarks (iBUG, 0-based) that match :data:`MODEL_POINTS`.
MODEL_LANDMARKS = (30, 8, 36, 45, 48, 54)

#: Model axes (y up, z toward the camera) to OpenCV camera axes (y down, z away from it).
_MODEL_TO_CAMERA = np.diag([1.0, -1.0, -1.0])


def camera_matrix(frame_size: tuple[int, int]) -> np.ndarray:
    """Pinhole intrinsics for a frame of ``(width, height)`` pixels: focal length = width."""
    width, height = (float(v) for v in frame_size)
    if not (width > 0 and height > 0):
        raise ValueError(f"frame_size must be (width, height) in pixels; got {frame_size!r}")
    return np.array([[width, 0.0, width / 2], [0.0, width, height / 2], [0.0, 0.0, 1.0]])


def _pose(points: np.ndarray, camera: np.ndarray) -> np.ndarray:
    ok, rvec, tvec = cv2.solvePnP(MODEL_POINTS, points, camera, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        return np.full(3, np.nan)
    rvec, tvec = cv2.solvePnPRefineLM(MODEL_POINTS, points, camera, None, rvec, tvec)
    rotation = _MODEL_TO_CAMERA @ cv2.Rodrigues(rvec)[0]
    return Rotation.from_matrix(rotation).as_euler("YXZ", degrees=True)


def head_pose(landmarks: np.ndarray, *, frame_size: tuple[int, int]) -> np.ndarray:
    """Yaw, pitch and roll of the head in degrees, from 68 landmarks in frame pixels.

    Parameters
    ----------
    landmarks : array_like, shape (68, 2) or (N, 68, 2)
        ``(x, y)`` in the pixels of the original frame (not of an aligned crop, whose similarity
        warp has removed the roll and the perspective). Shapes holding NaN give NaN angles.
    frame_size : (int, int)
        ``(width, height)`` of the frame, for the pinhole camera (:func:`camera_matrix`).

    Returns
    -------
    ndarray of float64, shape (3,) or (N, 3)
        Columns :data:`POSE_ANGLES`; see the module docstring for their signs.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    single = landmarks.ndim == 2
    shapes = landmarks[None] if single else landmarks
    if shapes.ndim != 3 or shapes.shape[1:] != (68, 2):
        raise ValueError(f"landmarks must have shape (68, 2) or (N, 68, 2); got "
                         f"{landmarks.shape}")
    camera = camera_matrix(frame_size)
    out = np.full((len(shapes), 3), np.nan)
    for i, shape in enumerate(shapes):
        points = shape[list(MODEL_LANDMARKS)]
        if np.all(np.isfinite(points)):
            out[i] = _pose(np.ascontiguousarray(points), camera)
    return out[0] if single else out
