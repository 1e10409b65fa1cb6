"""Process-level settings that make CPU training faster without changing any result."""

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

# glibc mallopt parameters
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory_in_process() -> None:
    """Stop glibc from unmapping and re-faulting PyTorch's per-step activation buffers.

    Every training step frees and re-allocates the same multi-megabyte tensors. By default glibc
    serves blocks that large with mmap and hands them back on free, so each step pays for
    hundreds of page faults per buffer: measured here, ~25% of the step time of the 2x128 LSTM
    on CPU. Raising the mmap and trim thresholds keeps the memory in the heap for reuse.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 256 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    except (OSError, AttributeError):  # musl or another libc without mallopt: keep its defaults
        log.debug("mallopt is unavailable; keeping the C allocator's defaults")
