"""How an image becomes a sequence: the one place that decides what a time step is."""

import torch
from torch import Tensor

from seqmnist.validation import ensure_valid, one_of

SIDE = 28
# mode -> features per time step; the number of steps is then 784 / features
FEATURES_PER_STEP = {"rows": SIDE, "columns": SIDE, "pixels": 1, "permuted": 1}


def features_per_step(mode: str) -> int:
    """Input size of the network for a sequence mode (the `${features_per_step:}` resolver)."""
    ensure_valid("SequenceView", [("sequence", mode, *one_of(FEATURES_PER_STEP))])
    return FEATURES_PER_STEP[mode]


def sequence_length(mode: str) -> int:
    """Time steps of a sequence mode (the `${sequence_length:}` resolver): 28 or 784."""
    return SIDE * SIDE // features_per_step(mode)


# the deterministic order S4 and S5 read psMNIST in (`data.permutation_seed=bit_reversal`)
BIT_REVERSAL = "bit_reversal"


def pixel_permutation(seed: int | str) -> Tensor:
    """The fixed pixel order of permuted sequential MNIST: step t reads pixel `order[t]`.

    An integer draws the order from torch's generator; `bit_reversal` is the bit-reversal order of
    the 1,024 indices of 10 bits, keeping those below 784.
    """
    if seed == BIT_REVERSAL:
        bits = (SIDE * SIDE - 1).bit_length()
        reversed_indices = [int(f"{k:0{bits}b}"[::-1], 2) for k in range(1 << bits)]
        return torch.tensor([i for i in reversed_indices if i < SIDE * SIDE])
    return torch.randperm(SIDE * SIDE, generator=torch.Generator().manual_seed(seed))


class SequenceView:
    """Turns `(batch, 28, 28)` uint8 images into normalised `(time, batch, features)` sequences.

    - `rows`: step t is row t (28 x 28), the tutorials' reading;
    - `columns`: step t is column t (28 x 28);
    - `pixels`: step t is pixel `image[t // 28, t % 28]` (784 x 1), sequential MNIST;
    - `permuted`: step t is pixel `permutation[t]` of the flattened image (784 x 1).

    Sequence-first is `nn.LSTM`'s native layout. Normalising whole batches on whatever device the
    batch is on replaces the tutorial's per-image PIL transforms.
    """

    def __init__(self, mode: str, mean: float, std: float, permutation_seed: int = 0) -> None:
        self.features = features_per_step(mode)
        self.mode = mode
        self.mean = mean
        self.std = std
        self.permutation = pixel_permutation(permutation_seed) if mode == "permuted" else None
        self._permutation_on_device: Tensor | None = None

    def __call__(self, images: Tensor) -> Tensor:
        if images.dim() != 3:
            raise ValueError(
                f"expected a (batch, height, width) tensor of images, got {tuple(images.shape)}"
            )
        pixels = images.to(torch.float32).div_(255.0).sub_(self.mean).div_(self.std)
        if self.mode == "rows":
            return pixels.transpose(0, 1).contiguous()
        if self.mode == "columns":
            return pixels.permute(2, 0, 1).contiguous()
        flat = pixels.flatten(1)
        if self.permutation is not None:
            flat = flat[:, self._permutation_on(flat.device)]
        return flat.t().unsqueeze(-1).contiguous()

    def _permutation_on(self, device: torch.device) -> Tensor:
        """The pixel order on the batches' device, copied there once rather than every batch."""
        cached = self._permutation_on_device
        if cached is None or cached.device != device:
            self._permutation_on_device = cached = self.permutation.to(device)
        return cached

    def images_of(self, sequence: Tensor) -> Tensor:
        """The normalised `(batch, 28, 28)` images a sequence was read from (for figures)."""
        if self.mode == "rows":
            return sequence.transpose(0, 1)
        if self.mode == "columns":
            return sequence.permute(1, 2, 0)
        flat = sequence.squeeze(-1).t()
        if self.permutation is not None:
            flat = flat[:, torch.argsort(self.permutation.to(flat.device))]
        return flat.reshape(-1, SIDE, SIDE)

    def adopt_permutation(self, stored: Tensor | None) -> None:
        """Read pixels in the order a checkpoint stored, not the one this torch draws from the seed."""
        if self.permutation is not None and stored is not None:
            self.permutation = stored
            self._permutation_on_device = None

    @property
    def step_name(self) -> str:
        """What one time step is, for labels: row, column or pixel."""
        return {"rows": "row", "columns": "column"}.get(self.mode, "pixel")
