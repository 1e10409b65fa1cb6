"""Turn a picture of one digit into a 28x28 image prepared the way MNIST's digits were.

MNIST's digits were fitted into 20x20 pixels (aspect kept, anti-aliased) and centred by mass in
28x28, light ink on exact zeros; a model trained on them has seen nothing else.
`prepare_like_mnist` makes a photo that way in five steps:
1. polarity: ink becomes bright; the background is judged by the image border;
2. ink and background separated by Otsu's threshold, after a 3x3 median on large images (removes
   sensor noise, not strokes) and the subtraction of the background's slow changes (shadows);
   no clear separation means no digit, and is refused;
3. levels: the background's robust upper level (median + 3 sigma) becomes exactly 0 and the ink's
   median becomes full brightness; anything not next to confident ink is set to 0 (paper grain);
4. crop to the ink and fit it into 20x20, aspect ratio kept;
5. paste into 28x28 with the centre of mass at the centre.
`prepare_by_resizing` is the older behaviour (pad to a square, resize) for images that already
look like MNIST digits.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.functional import resize

from seqmnist.data.sequence import SIDE
from seqmnist.errors import DataError

DIGIT_BOX = 20
# MNIST's centre of mass, in pixel indices (measured on the official test set: 13.99, 14.01)
MNIST_CENTRE = 14.0
SMALLEST_SIDE = 8
# larger pictures are shrunk first: a digit a tenth of the picture's width still gets 25 pixels
WORKING_SIDE = 256
LEVELS = 256
MEDIAN_FROM_SIDE = 56
# the background's tone is estimated on a copy this many pixels across
COARSE_SIDE = 32
# ink must be this much brighter than the background (on a 0-1 scale) and than the pixel noise:
# pictures of noise alone measure 2-5 noise deviations, the benchmark's digits 70 and more
MIN_CONTRAST = 0.15
MIN_CONTRAST_TO_NOISE = 15


class NoDigitFound(DataError):
    """The picture holds nothing that can be told apart from its background."""


@dataclass(frozen=True)
class InkSplit:
    """A picture's tones split by Otsu's threshold into background and ink (medians, 0-1)."""

    threshold: float
    background: float
    background_spread: float  # a robust standard deviation: 1.4826 x median absolute deviation
    ink: float


def ink_bright(grey: Tensor) -> Tensor:
    """The picture with its ink bright, as MNIST's, judged by whether the border is light or dark.

    The border is background except where a tightly cropped digit touches it, and there the
    stroke's anti-aliased edge is faint, so the border's median is the background tone.
    """
    border = torch.cat([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    darkest, lightest = torch.aminmax(grey)
    return 1 - grey if float(border.median()) > float(darkest + lightest) / 2 else grey


def split_ink(ink: Tensor) -> InkSplit:
    """Otsu's threshold on 256 levels; refuses a picture whose ink does not stand out."""
    if min(ink.shape) < SMALLEST_SIDE:
        raise NoDigitFound(
            f"{ink.shape[1]}x{ink.shape[0]} pixels is too small to hold a digit "
            f"(at least {SMALLEST_SIDE}x{SMALLEST_SIDE})"
        )
    # every statistic below comes from the 256-level histogram: a picture of any size costs the same
    counts = torch.histc(ink, bins=LEVELS, min=0, max=1).double()
    levels = (torch.arange(LEVELS, dtype=torch.float64) + 0.5) / LEVELS
    share = counts / counts.sum()
    below = share.cumsum(0)
    mass_below = (share * levels).cumsum(0)
    between = (mass_below[-1] * below - mass_below) ** 2 / (below * (1 - below)).clamp_min(1e-12)
    cut = int(between[:-1].argmax()) + 1  # levels [0, cut) are background
    if counts[:cut].sum() == 0 or counts[cut:].sum() == 0:
        raise NoDigitFound("it looks blank: one tone only")
    background = _weighted_median(levels[:cut], counts[:cut])
    split = InkSplit(
        threshold=cut / LEVELS,
        background=background,
        background_spread=1.4826
        * _weighted_median((levels[:cut] - background).abs(), counts[:cut]),
        ink=_weighted_median(levels[cut:], counts[cut:]),
    )
    contrast = split.ink - split.background
    if contrast < MIN_CONTRAST or contrast < MIN_CONTRAST_TO_NOISE * _pixel_noise(ink):
        raise NoDigitFound(
            "no ink stands out from the background (it looks blank, or like noise or texture)"
        )
    return split


def prepare_like_mnist(grey: Tensor) -> Tensor:
    """A `(height, width)` 0-1 picture of a digit as a `(28, 28)` uint8 MNIST-style digit."""
    ink = _cleaned(ink_bright(grey))
    split = split_ink(ink)
    confident = ink >= split.threshold
    top, bottom, left, right = _bounds(confident)
    pixels_per_mnist_pixel = max(bottom - top, right - left) / DIGIT_BOX
    near_ink = _dilated(confident, radius=math.ceil(pixels_per_mnist_pixel))
    black = split.background + 3 * split.background_spread
    levelled = ((ink - black) / (split.ink - black)).clamp(0, 1) * near_ink
    top, bottom, left, right = _bounds(levelled > 0)
    return _centred_by_mass(_fitted(levelled[top:bottom, left:right], DIGIT_BOX))


def prepare_by_resizing(grey: Tensor) -> Tensor:
    """Pad to a square and resize to 28x28: for pictures that already look like MNIST digits."""
    ink = ink_bright(grey)
    split_ink(_cleaned(ink))  # the same refusals as preprocess=mnist
    height, width = ink.shape
    side = max(height, width)
    square = torch.zeros(side, side)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = ink
    return _as_bytes(resize(square[None], [SIDE, SIDE], antialias=True)[0])


PREPARATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "mnist": prepare_like_mnist,
    "resize": prepare_by_resizing,
}


def _cleaned(ink: Tensor) -> Tensor:
    """Ink on a flat, noise-free background: what the ink is told apart from the paper in."""
    return _without_shading(_median3(_shrunk(ink)))


def _shrunk(picture: Tensor) -> Tensor:
    height, width = picture.shape
    if max(height, width) <= WORKING_SIDE:
        return picture
    scale = WORKING_SIDE / max(height, width)
    size = [max(1, round(height * scale)), max(1, round(width * scale))]
    return resize(picture[None], size, antialias=True)[0]


def _median3(picture: Tensor) -> Tensor:
    """3x3 median on pictures large enough that a stroke is wider than a pixel."""
    if min(picture.shape) < MEDIAN_FROM_SIDE:
        return picture
    padded = F.pad(picture[None, None], (1, 1, 1, 1), mode="replicate")
    windows = F.unfold(padded, kernel_size=3)[0]
    return windows.median(dim=0).values.reshape(picture.shape)


def _without_shading(ink: Tensor) -> Tensor:
    """Subtract the background's slow changes (a shadow, uneven light), found where no stroke is.

    On a coarse copy (about 32 pixels across) a grey opening with a window of a quarter of the
    picture removes every stroke, leaving the paper's tone; it is smoothed and upsampled back.
    """
    height, width = ink.shape
    scale = COARSE_SIDE / max(height, width)
    coarse = resize(
        ink[None, None],
        [max(1, round(height * scale)), max(1, round(width * scale))],
        antialias=True,
    )
    window = COARSE_SIDE // 4 + 1
    margin = window // 2
    # outside the picture is background: a stroke along the edge of a tight crop is still a stroke
    surrounded = F.pad(coarse, (margin,) * 4, value=float(coarse.min()))
    eroded = -F.max_pool2d(-surrounded, window, stride=1)
    opened = F.max_pool2d(eroded, window, stride=1, padding=margin)
    paper = F.avg_pool2d(opened, window, stride=1, padding=margin, count_include_pad=False)
    return (ink - resize(paper, [height, width], antialias=False)[0, 0]).clamp(0, 1)


def _weighted_median(values: Tensor, weights: Tensor) -> float:
    order = values.argsort()
    cumulative = weights[order].cumsum(0)
    return float(values[order][int(torch.searchsorted(cumulative, cumulative[-1] / 2))])


def _pixel_noise(picture: Tensor) -> float:
    """The standard deviation of pixel noise, blind to strokes and edges (Donoho's estimator: the
    median absolute diagonal difference of 2x2 blocks, over 0.6745)."""
    diagonal = (picture[:-1, :-1] - picture[1:, :-1] - picture[:-1, 1:] + picture[1:, 1:]) / 2
    return float(diagonal.abs().median()) / 0.6745


def _bounds(mask: Tensor) -> tuple[int, int, int, int]:
    rows = torch.nonzero(mask.any(dim=1))[:, 0]
    columns = torch.nonzero(mask.any(dim=0))[:, 0]
    return int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1


def _dilated(mask: Tensor, radius: int) -> Tensor:
    grown = F.max_pool2d(mask[None, None].float(), 2 * radius + 1, stride=1, padding=radius)
    return grown[0, 0]


def _fitted(digit: Tensor, box: int) -> Tensor:
    height, width = digit.shape
    scale = box / max(height, width)
    size = [max(1, round(height * scale)), max(1, round(width * scale))]
    return resize(digit[None], size, antialias=True)[0].clamp(0, 1)


def _centred_by_mass(digit: Tensor) -> Tensor:
    height, width = digit.shape
    mass = digit.sum()
    centre_row = float((digit.sum(dim=1) * torch.arange(height)).sum() / mass)
    centre_column = float((digit.sum(dim=0) * torch.arange(width)).sum() / mass)
    top = min(max(round(MNIST_CENTRE - centre_row), 0), SIDE - height)
    left = min(max(round(MNIST_CENTRE - centre_column), 0), SIDE - width)
    field = torch.zeros(SIDE, SIDE)
    field[top : top + height, left : left + width] = digit
    return _as_bytes(field)


def _as_bytes(picture: Tensor) -> Tensor:
    return (picture.clamp(0, 1) * 255).round().to(torch.uint8)
