"""Keep freed memory for reuse while training and encoding, not handing it back to the OS.

Every training step allocates the same large buffers again: activations,
gradients, the bf16 copies of the weights under autocast. PyTorch's CPU
tensors come from malloc, and glibc serves blocks above its mmap threshold
(128 KiB, growing to at most 32 MiB) with fresh pages that it unmaps on free,
so each step pays a page fault for every 4 KiB of each such buffer. On
workload L (4096-2048-1000, batch 256) that was half of an fp32 step (see
benchmarks/RESULTS.md). Encoding large tables allocates its batch outputs
over and over in the same way. `tune_for_training` asks glibc to serve every block
from its heap and to keep freed memory there (``M_MMAP_MAX=0``, a 2 GiB
``M_TRIM_THRESHOLD``), which is what the jemalloc/tcmalloc advice of PyTorch's
CPU performance guide achieves without preloading another allocator.

The cost: memory freed after training stays with the process for reuse instead
of being returned to the system. ``AEKIT_ALLOCATOR=system`` leaves malloc as it
is. Elsewhere than glibc (macOS, Windows, musl) nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_MAX = -4
KEEP_FREED = 2**31 - 1  # bytes of free heap top kept before trimming (int max)

_tuned: bool | None = None  # None: not tried yet in this process


def tune_for_training() -> bool:
    """Make glibc reuse freed memory (once per process); True where it took effect."""
    global _tuned
    if _tuned is None:
        _tuned = _mallopt()
    return _tuned


def _mallopt() -> bool:
    if os.environ.get("AEKIT_ALLOCATOR", "auto").lower() == "system":
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    # glibc only: musl's mallopt exists and does nothing
    if not (hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version")):
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREED))
