"""Random small rotations, scalings and shifts of whole training batches, on their device."""

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from seqmnist.validation import FRACTION, NON_NEGATIVE_NUMBER, ensure_valid


class RandomAffine:
    """Each image gets its own angle in [-degrees, degrees], scale in [1 - scale, 1 + scale] and
    shift of up to `translate` pixels per axis, in one `grid_sample` call for the whole batch.

    torchvision's `RandomAffine` draws one transform per call, i.e. per batch here, which is a far
    weaker regulariser; this draws per image. Pixels moved in from outside are background (0).
    """

    def __init__(self, degrees: float = 0.0, translate: float = 0.0, scale: float = 0.0) -> None:
        ensure_valid(
            type(self).__name__,
            [
                ("degrees", degrees, *NON_NEGATIVE_NUMBER),
                ("translate", translate, *NON_NEGATIVE_NUMBER),
                ("scale", scale, *FRACTION),
            ],
        )
        self.degrees = degrees
        self.translate = translate
        self.scale = scale

    def __call__(self, images: Tensor) -> Tensor:
        """`(batch, height, width)` uint8 -> float images of the same shape and pixel range."""
        batch, height, width = images.shape
        device = images.device

        def symmetric(limit: float, *shape: int) -> Tensor:
            return (torch.rand(batch, *shape, device=device) * 2 - 1) * limit

        angle = symmetric(math.radians(self.degrees))
        zoom = 1 + symmetric(self.scale)
        # affine_grid maps output to input coordinates in [-1, 1]: one pixel is 2 / size (scalars,
        # so no small tensor is copied to the device every batch)
        shift = symmetric(self.translate, 2)
        shift_x, shift_y = shift[:, 0] * (2 / width), shift[:, 1] * (2 / height)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack(
            [torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1
        )
        grid = F.affine_grid(theta, [batch, 1, height, width], align_corners=False)
        pixels = images.unsqueeze(1).to(torch.float32)
        # interpolation can overshoot 255 by float rounding
        return F.grid_sample(pixels, grid, align_corners=False).squeeze(1).clamp_(0, 255)
