"""How this process uses the machine: threads and cores, the C allocator, float32 precision, the
device, and the one reading of the hardware's facts (CPU model and instruction sets, GPU) that the
precision choice, the run records and the benchmarks share."""

import ctypes
import ctypes.util
import functools
import logging
import os
import platform
import sys
import warnings
from dataclasses import dataclass
from importlib import metadata

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


# the CPU instruction sets that change float results and speed (oneDNN picks its kernels by them)
NUMERIC_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass(frozen=True)
class Hardware:
    cpu: str  # the CPU's model name
    cpu_flags: tuple[str, ...]  # which of NUMERIC_FLAGS it has
    torch_cpu_capability: str  # the kernels torch dispatches to: DEFAULT, AVX2, AVX512
    gpu: str | None  # the first visible CUDA GPU
    gpu_bf16: bool  # whether that GPU computes bfloat16 natively
    cuda: str | None  # torch's CUDA version

    @property
    def cpu_bf16(self) -> bool:
        """AMX-BF16 or AVX512-BF16: where torch's oneDNN kernels compute in bfloat16."""
        return any(flag in self.cpu_flags for flag in BF16_FLAGS)

    def describe_cpu(self) -> str:
        sets = ", ".join(flag.upper().replace("_", "-") for flag in self.cpu_flags) or "none listed"
        return f"{self.cpu} ({sets})"

    def as_record(self) -> dict[str, object]:
        return {
            "cpu": self.cpu,
            "cpu_flags": list(self.cpu_flags),
            "torch_cpu_capability": self.torch_cpu_capability,
            "gpu": self.gpu,
            "cuda": self.cuda,
        }


@functools.cache
def hardware() -> Hardware:
    """Read once per process: /proc/cpuinfo where there is one, torch for the rest."""
    cpu, flags = _cpuinfo()
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return Hardware(
        cpu=cpu or platform.processor() or platform.machine(),
        cpu_flags=tuple(flag for flag in NUMERIC_FLAGS if flag in flags),
        torch_cpu_capability=torch.backends.cpu.get_cpu_capability(),
        gpu=gpu,
        gpu_bf16=bool(gpu) and torch.cuda.is_bf16_supported(including_emulation=False),
        cuda=torch.version.cuda,
    )


def _cpuinfo() -> tuple[str, set[str]]:
    try:
        with open("/proc/cpuinfo") as info:
            lines = info.read().splitlines()
    except OSError:
        return "", set()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    name = fields.get("model name", "")
    if (
        "cpu family" in fields
    ):  # a VM may show only "AMD EPYC": family and model tell generations apart
        name = f"{name} (family {fields['cpu family']}, model {fields.get('model', '?')})"
    return name, set(fields.get("flags", "").split())


# the packages whose versions change a run's numbers or behaviour
STACK_PACKAGES = (
    "torch", "torchvision", "lightning", "torchmetrics", "numpy", "hydra-core", "omegaconf",
)  # fmt: skip


@functools.cache
def software_stack() -> dict[str, str]:
    """Python and the versions of STACK_PACKAGES installed here."""
    versions = {"python": platform.python_version()}
    for package in STACK_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions
