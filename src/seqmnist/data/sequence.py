"""How an image becomes a sequence: the one place that decides what a time step is."""

import torch
from torch import Tensor


def images_to_rows(images: Tensor, mean: float, std: float) -> Tensor:
    """Turn a `(B, H, W)` uint8 batch into a `(H, B, W)` float sequence: step t is row t.

    Sequence-first is `nn.LSTM`'s native layout. Normalising whole batches here, on whatever device
    the batch is on, replaces the tutorial's per-image PIL transforms.
    """
    if images.dim() != 3:
        raise ValueError(
            f"expected a (batch, height, width) tensor of images, got {tuple(images.shape)}"
        )
    pixels = images.to(torch.float32).div_(255.0)
    return pixels.sub_(mean).div_(std).transpose(0, 1).contiguous()
