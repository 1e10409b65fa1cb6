"""The checks that prove each raw file is the one its dataset record describes."""

from collections.abc import Mapping
from pathlib import Path

from torchvision.datasets.utils import calculate_md5

from seqmnist.data.datasets import RawFile
from seqmnist.errors import DataError

# file name -> its size and MD5 (a dataset record's `checksums()`)
Checksums = Mapping[str, RawFile]


def problem_with(path: Path, expected: RawFile) -> str | None:
    """What is wrong with one raw file, or None if it is the official one."""
    if not path.is_file():
        return "is missing"
    if expected.md5 is None:
        size = path.stat().st_size
        return (
            None
            if size == expected.size
            else f"has {size} bytes, but the official file has {expected.size}"
        )
    actual = calculate_md5(str(path))  # torchvision's: FIPS-safe (usedforsecurity=False)
    return (
        None
        if actual == expected.md5
        else f"has MD5 {actual}, but the official file has {expected.md5}"
    )


def all_present_and_valid(raw_dir: Path, checksums: Checksums) -> bool:
    return all(problem_with(raw_dir / name, raw) is None for name, raw in checksums.items())


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
