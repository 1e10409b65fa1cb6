"""Batches sliced from tensors in memory, so the training loop does no per-image Python work."""

from torch import Tensor
from torch.utils.data import Dataset


class InMemoryImages(Dataset[tuple[Tensor, Tensor]]):
    """Images and labels held as whole tensors; a batch is one indexing operation, not B of them.

    The DataLoader's sampler still picks the indices, so shuffling, distributed sharding and
    `limit_*_batches` keep working exactly as Lightning expects.
    """

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        return self.images[indices], self.labels[indices]


def keep_batch(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """Collate for `InMemoryImages`: its `__getitems__` already returns a stacked batch."""
    return batch
