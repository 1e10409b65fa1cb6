"""How this process uses the machine: threads and cores, the C allocator, float32 precision, the device."""

import ctypes
import ctypes.util
import logging
import os
import sys
import warnings

import torch
from lightning.pytorch.utilities.warnings import PossibleUserWarning

from seqmnist.errors import ConfigError

log = logging.getLogger(__name__)

# glibc mallopt parameters
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory_in_process() -> None:
    """Keep PyTorch's per-step activation buffers in the heap: glibc serves blocks that large
    with mmap and unmaps them on free, so every step would page-fault them in again."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        # mallopt returns 1 when it took the setting, 0 when it refused it
        accepted = libc.mallopt(_M_MMAP_THRESHOLD, 256 << 20) and libc.mallopt(
            _M_TRIM_THRESHOLD, 1 << 30
        )
    except (OSError, AttributeError):  # musl or another libc without mallopt: keep its defaults
        log.debug("mallopt is unavailable; keeping the C allocator's defaults")
        return
    if not accepted:
        log.warning(
            "The C allocator refused the mmap/trim thresholds: CPU training may be ~25%% slower"
        )


FLOAT32_PRECISIONS = ("highest", "high", "medium")


def configure_process(float32_precision: str) -> None:
    """The process-level settings every command that runs the network makes first."""
    set_float32_precision(float32_precision)
    silence_dataloader_worker_hint()
    keep_freed_memory_in_process()


def set_float32_precision(precision: str) -> None:
    """TF32 for matrix products and cuDNN's LSTM (Ampere and newer GPUs) only when the run asks:
    PyTorch's own defaults differ between the two."""
    if precision not in FLOAT32_PRECISIONS:
        raise ConfigError(
            f"float32_precision={precision!r} is not a precision. Use highest (IEEE float32), high "
            f"or medium (TF32 on Ampere and newer GPUs)."
        )
    torch.set_float32_matmul_precision(precision)
    torch.backends.cudnn.allow_tf32 = precision != "highest"


def silence_dataloader_worker_hint() -> None:
    """Batches are slices of tensors already on the training device: a worker process would
    only copy them out and back (impossible for CUDA tensors), so Lightning's hint is wrong here."""
    warnings.filterwarnings(
        "ignore", message=r"The '\w+' does not have many workers", category=PossibleUserWarning
    )


def available_cores() -> int:
    """Cores this process may run on (respects taskset and cgroup CPU sets)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def concurrent_jobs(n_jobs: int | None) -> int:
    """How many jobs a Hydra launcher runs at once, from joblib's `n_jobs` (-1 = one per core,
    -2 = all but one, ...); None (launchers that run jobs one after the other) is 1."""
    if not isinstance(n_jobs, int) or n_jobs == 0:
        return 1
    return max(1, n_jobs if n_jobs > 0 else available_cores() + 1 + n_jobs)


def split_threads(threads: int | None, n_jobs: int | None) -> int:
    """Give this run `threads` threads or, in a job of a parallel launcher, its share of the
    cores (every torch process would start one thread per core); return the count in use."""
    jobs = concurrent_jobs(n_jobs)
    count = threads or (max(1, available_cores() // jobs) if jobs > 1 else None)
    if count:
        torch.set_num_threads(count)
        try:
            torch.set_num_interop_threads(count)
        except RuntimeError:  # settable once per process, before inter-op work: a reused worker
            log.debug("inter-op threads were already set in this process; kept")
    return torch.get_num_threads()


def device_of(accelerator: str) -> str:
    """What a Trainer with this accelerator setting computes on, for run records."""
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    return f"cuda ({torch.cuda.get_device_name()})" if on_gpu else "cpu"
