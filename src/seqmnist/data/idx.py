"""Writing the IDX format, so that every source ends as the same files torchvision reads."""

import os
from pathlib import Path

import numpy as np

_UNSIGNED_BYTE = 0x08


def write_idx(array: np.ndarray, path: Path) -> None:
    """Write a uint8 array as IDX (big-endian header of zeros, type, rank, then the sizes).

    Written to a temporary name first and renamed, so a crash never leaves a half file behind.
    """
    if array.dtype != np.uint8:
        raise ValueError(f"IDX files here hold unsigned bytes, got {array.dtype}")
    header = bytes([0, 0, _UNSIGNED_BYTE, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with partial.open("wb") as stream:
        stream.write(header)
        stream.write(np.ascontiguousarray(array).tobytes())
    os.replace(partial, path)
