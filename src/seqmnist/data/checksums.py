"""The raw IDX files of a dataset and the checks that prove each one is the official file."""

from collections.abc import Mapping
from pathlib import Path

from torchvision.datasets.utils import calculate_md5

from seqmnist.errors import DataError

# uncompressed file name (as torchvision names it) -> MD5 of the official file
MNIST_MD5: Mapping[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

# Every MNIST-format dataset (MNIST, Fashion-MNIST, KMNIST) has 60k + 10k images of 28x28 bytes:
# an IDX header (16 bytes for images, 8 for labels) plus one byte per pixel or label.
IDX_SIZES: Mapping[str, int] = {
    "train-images-idx3-ubyte": 16 + 60_000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60_000,
    "t10k-images-idx3-ubyte": 16 + 10_000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10_000,
}

# file name -> its MD5, or None where only the size can be checked (the publisher lists MD5s of
# the .gz archives only, which torchvision checks while downloading)
Checksums = Mapping[str, str | None]
SIZE_CHECKED: Checksums = dict.fromkeys(IDX_SIZES)


def problem_with(path: Path, expected_md5: str | None) -> str | None:
    """What is wrong with one raw file, or None if it is the official one."""
    if not path.is_file():
        return "is missing"
    if expected_md5 is None:
        size, expected_size = path.stat().st_size, IDX_SIZES[path.name]
        return (
            None
            if size == expected_size
            else f"has {size} bytes, but the official file has {expected_size}"
        )
    actual = calculate_md5(str(path))  # torchvision's: FIPS-safe (usedforsecurity=False)
    return (
        None
        if actual == expected_md5
        else f"has MD5 {actual}, but the official file has {expected_md5}"
    )


def all_present_and_valid(raw_dir: Path, checksums: Checksums) -> bool:
    return all(problem_with(raw_dir / name, md5) is None for name, md5 in checksums.items())


def verify(raw_dir: Path, checksums: Checksums, source: str) -> None:
    """Raise if any file is missing or differs from the official bytes: wrong data must never train."""
    for name, expected in checksums.items():
        path = raw_dir / name
        if not path.is_file():
            raise DataError(
                f"{source} did not produce {path}. Delete {raw_dir} and run again, or place the "
                f"official IDX files there yourself."
            )
        problem = problem_with(path, expected)
        if problem:
            raise DataError(
                f"{path} {problem} (source: {source}). The file is corrupted or not the expected "
                f"dataset: delete it and run again to re-fetch it."
            )
