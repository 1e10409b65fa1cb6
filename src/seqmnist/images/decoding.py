"""Image files as people make them, decoded to the grey picture a person sees.

A plain `Image.convert("L")` turns phone photos (EXIF rotation), drawings on transparency and
16-bit scans into sideways, blank or clipped pictures.
"""

from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from seqmnist.errors import DataError

# modes whose values do not span 0-255: scaled by the range they use, not clipped
HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def read_grey(path: Path | BinaryIO) -> Tensor:
    """The picture in `path` (a file, or an open binary stream) as `(height, width)` float32
    luminance in [0, 1] (1 = white).

    EXIF orientation is applied, an animated file gives its first frame, high-bit-depth values
    are stretched over their range and transparent areas get the tone opposite to the drawing.
    """
    try:
        with Image.open(path) as opened:
            opened.seek(0)
            upright = ImageOps.exif_transpose(opened)
            upright.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DataError(
            f"not an image that can be read ({type(error).__name__}): pass PNG, JPEG, TIFF, ... "
            f"files of single digits"
        ) from error
    if upright.mode in HIGH_DEPTH_MODES:
        return _stretched(np.asarray(upright, dtype=np.float64))
    if _has_transparency(upright):
        return _flattened(upright)
    return torch.from_numpy(np.asarray(upright.convert("L"), dtype=np.float32) / 255)


def _stretched(values: np.ndarray) -> Tensor:
    low, high = float(values.min()), float(values.max())
    scale = high - low if high > low else 1.0
    return torch.from_numpy(((values - low) / scale).astype(np.float32))


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _flattened(image: Image.Image) -> Tensor:
    """Transparent areas become the tone opposite to the opaque drawing (ink on white by default).

    Drawing apps export dark ink on transparency; white chalk-style strokes on transparency exist
    too, and putting those on white would make them vanish.
    """
    grey_alpha = np.asarray(image.convert("RGBA").convert("LA"), dtype=np.float32) / 255
    grey, alpha = grey_alpha[..., 0], grey_alpha[..., 1]
    coverage = float(alpha.sum())
    drawing_tone = float((grey * alpha).sum()) / coverage if coverage > 0 else 0.0
    background = 0.0 if drawing_tone > 0.5 else 1.0
    return torch.from_numpy(grey * alpha + background * (1 - alpha))
