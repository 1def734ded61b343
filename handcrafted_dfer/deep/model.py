"""A compact C3D-style 3D convolutional network for grey aligned face clips, sized for a CPU.

This module imports torch; import it only through :mod:`handcrafted_dfer.deep`, which checks that
the optional ``deep`` extra is installed.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

__all__ = ["C3DNet", "DEFAULT_WIDTHS"]

#: Output channels of the convolution blocks of the default network (about 1.2 million parameters).
DEFAULT_WIDTHS = (16, 32, 64, 128, 256)


class C3DNet(nn.Module):
    """Small C3D-style network: 3x3x3 convolution blocks, global average pooling, linear head.

    Every block is ``Conv3d(3x3x3, no bias) -> BatchNorm3d -> ReLU`` followed by max pooling: the
    first block pools space only (1x2x2, as in C3D, so that early motion is kept), the following
    blocks pool time and space (2x2x2, ``ceil_mode`` so that short clips still pass) and the last
    block does not pool. Global average pooling makes the network accept any ``T`` and ``S``.

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    widths : sequence of int
        Output channels of each convolution block; at least two blocks.
    dropout : float
        Dropout probability before the linear layer, in [0, 1).
    in_channels : int
        Channels of the input clips (1: grey; 2: grey and its difference to the first frame).

    Notes
    -----
    Input: float tensor ``[N, in_channels, T, S, S]``; output: logits ``[N, n_classes]``.

    With the default widths the network has 1,176,464 parameters plus ``257 * n_classes`` in
    the head. A 16 x 48 x 48 clip costs about 0.25 G multiply-adds forward.

    References
    ----------
    .. [1] D. Tran, L. Bourdev, R. Fergus, L. Torresani and M. Paluri, "Learning spatiotemporal
       features with 3D convolutional networks", ICCV 2015.
    """

    def __init__(self, n_classes: int, *, widths: Sequence[int] = DEFAULT_WIDTHS,
                 dropout: float = 0.3, in_channels: int = 1):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if int(n_classes) < 2:
            raise ValueError(f"n_classes must be at least 2; got {n_classes}")
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"widths must list at least two positive channel counts; got {widths}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        if int(in_channels) < 1:
            raise ValueError(f"in_channels must be a positive integer; got {in_channels}")
        layers: list[nn.Module] = []
        in_channels = int(in_channels)
        for i, width in enumerate(widths):
            layers += [
                nn.Conv3d(in_channels, width, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm3d(width),
                nn.ReLU(inplace=True),
            ]
            if i == 0:
                layers.append(nn.MaxPool3d(kernel_size=(1, 2, 2), ceil_mode=True))
            elif i < len(widths) - 1:
                layers.append(nn.MaxPool3d(kernel_size=2, ceil_mode=True))
            in_channels = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool3d(1),
            nn.Flatten(),
            nn.Dropout(p=dropout),
            nn.Linear(in_channels, int(n_classes)),
        )

    def forward(self, x):
        """Logits ``[N, n_classes]`` of a batch ``[N, in_channels, T, S, S]``."""
        return self.head(self.features(x))
