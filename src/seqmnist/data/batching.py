"""The evaluation sets as tensors in memory: a batch is one indexing operation, a shard has no repeats."""

from collections.abc import Iterator

from torch import Tensor
from torch.utils.data import Dataset, DistributedSampler


class InMemoryImages(Dataset[tuple[Tensor, Tensor]]):
    """Images and labels as whole tensors; the DataLoader's sampler still picks the indices."""

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


class UnpaddedShard(DistributedSampler):
    """Rank r's share of an evaluation set: indices r, r + world_size, ..., none repeated.

    torch's DistributedSampler repeats indices to even out the ranks, counting test images twice.
    """

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False)
        self.total_size = len(dataset)
        self.num_samples = len(range(rank, self.total_size, num_replicas))

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.total_size, self.num_replicas))
