"""Tiny IDX datasets in MNIST's layout, learnable in a few steps."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from torchvision.datasets.utils import calculate_md5

from seqmnist.data.datasets import MNIST_RECORD, DatasetRecord
from seqmnist.data.offline_wheel import write_idx


@dataclass(frozen=True)
class SyntheticMNIST:
    """IDX files in MNIST's layout, with their own checksums standing in for the official ones."""

    root: Path
    checksums: dict[str, str]
    train_size: int
    test_size: int

    def overrides(self, val_size: int = 40) -> list[str]:
        table = ",".join(f"{name}:{md5}" for name, md5 in self.checksums.items())
        return [
            f"data.data_dir={self.root}",
            f"data.val_size={val_size}",
            f"data.checksums={{{table}}}",
        ]


def make_digit_like_arrays(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose label is written as one bright row (row 2 * label + 4): learnable in a few steps."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(count) % 10).astype(np.uint8)
    images = rng.integers(0, 40, size=(count, 28, 28), dtype=np.uint8)
    images[np.arange(count), 2 * labels + 4, :] = 255
    return images, labels


def write_synthetic_mnist(
    root: Path, train_size: int = 240, test_size: int = 60, dataset: DatasetRecord = MNIST_RECORD
) -> SyntheticMNIST:
    """IDX files where the reader of `dataset` (a record of seqmnist.data.datasets) reads them."""
    raw_dir = dataset.raw_folder(root)
    raw_dir.mkdir(parents=True, exist_ok=True)
    for prefix, count, seed in (("train", train_size, 0), ("t10k", test_size, 1)):
        images, labels = make_digit_like_arrays(count, seed)
        write_idx(images, raw_dir / f"{prefix}-images-idx3-ubyte")
        write_idx(labels, raw_dir / f"{prefix}-labels-idx1-ubyte")
    checksums = {path.name: file_md5(path) for path in sorted(raw_dir.iterdir())}
    return SyntheticMNIST(root, checksums, train_size, test_size)


def file_md5(path: Path) -> str:
    return calculate_md5(str(path))


def save_digit(path: Path) -> None:
    """A dark "1" on white paper, as a person would draw it."""
    picture = np.full((56, 56), 255, dtype=np.uint8)
    picture[12:44, 25:31] = 0
    Image.fromarray(picture).save(path)
