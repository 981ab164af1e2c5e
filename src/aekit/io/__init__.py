"""Model folders on disk: ``config.json`` + ``model.safetensors``, written atomically.

Loading never unpickles: tensors come from safetensors, everything else from
JSON, and ``config.json`` vouches for the weights with their size and SHA-256.
Every write, of a file or of a whole model folder, goes to a hidden temporary
sibling and is renamed into place only when complete.

The modules: `layout` (the file names and the format's identity), `atomic`
(whole-or-nothing writes of a file or a folder, locks, held signals; its
`write_hooks` are called at each write step), `read` (checked reading) and
`folder` (`save_folder` and `read_folder`: the model folder itself).
"""

from __future__ import annotations

from .atomic import (
    WriteHook,
    atomic_open,
    deferred_signals,
    folder_lock,
    fsync_dir,
    write_atomic,
    write_folder_atomic,
)
from .folder import model_target, read_folder, save_folder
from .layout import (
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    LOCK_FILE,
    MAX_CONFIG_BYTES,
    MODEL_FILES,
    WEIGHTS_FILE,
)
from .read import read_checked, read_config

__all__ = [
    "CONFIG_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "LOCK_FILE",
    "MAX_CONFIG_BYTES",
    "MODEL_FILES",
    "WEIGHTS_FILE",
    "WriteHook",
    "atomic_open",
    "deferred_signals",
    "folder_lock",
    "fsync_dir",
    "model_target",
    "read_checked",
    "read_config",
    "read_folder",
    "save_folder",
    "write_atomic",
    "write_folder_atomic",
]
