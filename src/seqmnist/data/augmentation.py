"""Random distortions of whole training batches, on their device: small rotations, scalings,
shears and shifts, and a pen of another width or a blurred one (how people's pictures differ
from MNIST's digits)."""

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from seqmnist.validation import FRACTION, NON_NEGATIVE_NUMBER, ensure_valid


class RandomDistortion:
    """Each image gets its own angle in [-degrees, degrees], scale in [1 - scale, 1 + scale], shear
    angle in [-shear, shear] and shift of up to `translate` pixels per axis, in one `grid_sample`
    call for the whole batch; then, with `stroke`, strokes thickened by up to `stroke` pixels or
    thinned by up to half that (a grey-level dilation or erosion, fractions blended), and with `blur`, a
    Gaussian blur of standard deviation up to `blur` pixels.

    torchvision's `RandomAffine` draws one transform per call, i.e. per batch here, which is a far
    weaker regulariser; this draws per image. Pixels moved in from outside are background (0).
    """

    def __init__(
        self,
        degrees: float = 0.0,
        translate: float = 0.0,
        scale: float = 0.0,
        shear: float = 0.0,
        stroke: float = 0.0,
        blur: float = 0.0,
    ) -> None:
        ensure_valid(
            type(self).__name__,
            [
                ("degrees", degrees, *NON_NEGATIVE_NUMBER),
                ("translate", translate, *NON_NEGATIVE_NUMBER),
                ("scale", scale, *FRACTION),
                ("shear", shear, lambda v: 0 <= v < 90, "between 0 and 90 (degrees)"),
                ("stroke", stroke, lambda v: 0 <= v <= 2, "between 0 and 2 (pixels)"),
                ("blur", blur, lambda v: 0 <= v <= 2, "between 0 and 2 (pixels)"),
            ],
        )
        self.degrees = degrees
        self.translate = translate
        self.scale = scale
        self.shear = shear
        self.stroke = stroke
        self.blur = blur

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
        # a horizontal shear after the rotation: x' = x + tan(shear) * y
        # (no draw without shear: the other settings keep the random stream they always had)
        slant = torch.tan(symmetric(math.radians(self.shear))) if self.shear else 0.0
        theta = torch.stack(
            [
                torch.stack([cos + slant * sin, -sin + slant * cos, shift_x], 1),
                torch.stack([sin, cos, shift_y], 1),
            ],
            1,
        )
        grid = F.affine_grid(theta, [batch, 1, height, width], align_corners=False)
        pixels = F.grid_sample(images.unsqueeze(1).to(torch.float32), grid, align_corners=False)
        if self.stroke:
            # thinning by as much as thickening would erase MNIST's 2-3 pixel strokes
            change = torch.rand(batch, device=device) * 1.5 * self.stroke - self.stroke / 2
            pixels = self._pen_width(pixels, change.view(batch, 1, 1, 1))
        if self.blur:
            pixels = _blurred(pixels, torch.rand(batch, device=device) * self.blur)
        # interpolation can overshoot 255 by float rounding
        return pixels.squeeze(1).clamp_(0, 255)

    @staticmethod
    def _pen_width(pixels: Tensor, change: Tensor) -> Tensor:
        """Thicker strokes for a positive `change` (pixels, per image), thinner for a negative
        one: whole pixels by repeated 3x3 grey-level dilation or erosion, the rest blended."""
        widest = math.ceil(float(change.abs().max()))
        grown, shrunk = [pixels], [pixels]
        for _ in range(widest):
            grown.append(F.max_pool2d(grown[-1], 3, stride=1, padding=1))
            shrunk.append(-F.max_pool2d(-shrunk[-1], 3, stride=1, padding=1))
        steps = torch.stack([*shrunk[:0:-1], pixels, *grown[1:]])
        # steps[widest + k] is the image changed by k pixels, k in [-widest, widest]
        position = (change + widest).clamp(0, 2 * widest)
        below = position.floor().long().clamp(max=2 * widest)
        above = (below + 1).clamp(max=2 * widest)
        weight = position - below
        index = torch.arange(pixels.shape[0], device=pixels.device)
        low = steps[below.view(-1), index]
        high = steps[above.view(-1), index]
        return low + (high - low) * weight


def _blurred(pixels: Tensor, sigma: Tensor) -> Tensor:
    """Each image blurred by a Gaussian of its own standard deviation (pixels; 0 leaves it)."""
    offsets = torch.arange(-3, 4, device=pixels.device, dtype=pixels.dtype)
    sigma = sigma.clamp(min=1e-3).view(-1, 1)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (batch, 7)
    batch = pixels.shape[0]
    # a separable blur, one kernel per image: the batch as channels of one grouped convolution
    rows = F.conv2d(pixels.view(1, batch, *pixels.shape[2:]), kernel.view(batch, 1, 1, 7),
                    padding=(0, 3), groups=batch)  # fmt: skip
    both = F.conv2d(rows, kernel.view(batch, 1, 7, 1), padding=(3, 0), groups=batch)
    return both.view_as(pixels)
