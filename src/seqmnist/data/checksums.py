"""The raw IDX files of a dataset and the MD5 that proves each one is the official file."""

import hashlib
from collections.abc import Mapping
from pathlib import Path

from seqmnist.errors import DataError

# uncompressed file name (as torchvision names it) -> MD5 of the official file
MNIST_MD5: Mapping[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def md5_of(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with path.open("rb") as stream:
        while chunk := stream.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def all_present_and_valid(raw_dir: Path, checksums: Mapping[str, str]) -> bool:
    return all(
        (raw_dir / name).is_file() and md5_of(raw_dir / name) == md5
        for name, md5 in checksums.items()
    )


def verify(raw_dir: Path, checksums: Mapping[str, str], source: str) -> None:
    """Raise if any file is missing or differs from the official bytes: wrong data must never train."""
    for name, expected in checksums.items():
        path = raw_dir / name
        if not path.is_file():
            raise DataError(
                f"{source} did not produce {path}. Delete {raw_dir} and run again, or place the "
                f"official IDX files there yourself."
            )
        actual = md5_of(path)
        if actual != expected:
            raise DataError(
                f"{path} has MD5 {actual}, but the official file has {expected} (source: {source}). "
                f"The file is corrupted or not the expected dataset: delete it and run again to re-fetch it."
            )
