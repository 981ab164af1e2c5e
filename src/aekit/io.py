"""Model folders on disk: ``config.json`` + ``model.safetensors``, written atomically.

Loading never unpickles: tensors come from safetensors, everything else from
JSON. ``config.json`` records the size and SHA-256 of ``model.safetensors``, so
a truncated, bit-flipped or mismatched pair is refused with `ModelFormatError`
(the size before anything is read, the hash while the file streams in).

Every write goes the same way: a file (`write_atomic`) or a whole model folder
(`save_folder`) is written to a hidden temporary sibling, flushed, and renamed
into place only when complete. A failed or interrupted write removes its
temporary file or folder and leaves the previous state exactly; a temporary
left by a killed process is removed by the next write to the same target.
SIGINT and SIGTERM are held back for the instant of the rename itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .errors import ModelFormatError

FORMAT = "aekit-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LOCK_FILE = ".aekit.lock"
MAX_CONFIG_BYTES = 64 * 2**20  # a config beyond this is not ours
# the files a model folder of ours holds (the command line adds the last two)
MODEL_FILES = {CONFIG_FILE, WEIGHTS_FILE, LOCK_FILE, "train_config.json", "history.csv"}


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder, fsync, rename."""
    with atomic_open(path) as f:
        f.write(data)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A file opened for writing that becomes `path` only when the block ends well.

    The bytes go to a temporary file in the same folder; at the end of the
    block it is flushed, fsynced and renamed over `path`. An exception (or a
    kill) on the way leaves `path` as it was and no temporary file behind (a
    killed process's file is removed by the next write to `path`).
    """
    path = Path(path)
    _remove_stale(path)
    tmp: str | None = None
    try:
        with deferred_signals():
            fd, tmp = tempfile.mkstemp(".tmp", _tmp_prefix(path), path.parent)
        with os.fdopen(fd, "wb") as f:
            _chmod_like_open(f.fileno())
            yield f
            f.flush()
            os.fsync(f.fileno())
        _write_step("written", Path(tmp))
        with deferred_signals():
            os.replace(tmp, path)
            tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    fsync_dir(path.parent)


# -- the pieces every write shares ---------------------------------------------

WriteHook = Callable[[str, Path], None]
write_hooks: list[WriteHook] = []  # called at each write step; tests hook in here


def _write_step(stage: str, path: Path) -> None:
    """Call the hooks: `stage` "written" is a complete temporary, not yet renamed."""
    for hook in write_hooks:
        hook(stage, path)


def _tmp_prefix(target: Path) -> str:
    """Temporaries are ``.NAME.PID.*.tmp``, so that stale ones can be told apart."""
    return f".{target.name}.{os.getpid()}."


def _remove_stale(target: Path) -> None:
    """Remove temporaries of `target` whose writing process is gone.

    Those of live processes (a concurrent write) are left alone, and so is a
    folder holding more than a model's own files (nothing of the user's is
    deleted); the pid is in the name, so a reused pid only delays the cleanup.
    """
    head = f".{target.name}."
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for p in entries:
        if not (p.name.startswith(head) and p.name.endswith(".tmp")):
            continue
        pid = p.name[len(head) :].split(".", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        if p.is_dir() and not p.is_symlink():
            if {q.name for q in p.iterdir()} <= MODEL_FILES:
                shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM during the block, then deliver them.

    Used around the steps that must not be split: creating a temporary and
    remembering its name, and a rename. Outside the main thread (where handlers
    cannot be set) the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous: dict[int, Any] = {}
    for s in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(s)
        if handler is not None:  # None: set outside Python, cannot be put back
            previous[s] = signal.signal(s, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        for signum in held:
            signal.raise_signal(signum)


def _chmod_like_open(fd: int) -> None:
    """Give a mkstemp file (0600) the mode open() would have given: 0666 less umask."""
    if not hasattr(os, "fchmod"):  # pragma: no cover - Windows
        return
    os.fchmod(fd, 0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in `folder` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Exclusive lock on `folder` across processes (POSIX flock; no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(folder / LOCK_FILE, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _parent_lock(parent: Path) -> Iterator[None]:
    """Exclusive lock on the folder `parent` itself, leaving no file behind."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# -- model folders ---------------------------------------------------------------

_extra_files: ContextVar[dict[str, bytes] | None] = ContextVar(
    "aekit_extra_files", default=None
)


@contextlib.contextmanager
def saving_with(files: dict[str, bytes]) -> Iterator[None]:
    """Within the block, every `save_folder` also writes `files` into the folder.

    So a caller that saves through `AutoEncoder.save` (the command line, with
    its ``train_config.json`` and ``history.csv``) gets them committed in the
    same rename as the model.
    """
    token = _extra_files.set(files)
    try:
        yield
    finally:
        _extra_files.reset(token)


def model_target(folder: str | os.PathLike[str]) -> Path:
    """The folder a model saved to `folder` goes to, or FileExistsError saying why not.

    A symlink to a folder is followed; a dangling symlink, a symlink loop and a
    file are refused, before any work.
    """
    folder = Path(folder)
    if folder.is_symlink():
        try:
            resolved = folder.resolve(strict=True)
        except (OSError, RuntimeError):  # dangling, or a loop
            raise FileExistsError(
                f"{folder} is a symlink that leads nowhere (dangling or a loop); "
                "remove it or choose another path"
            ) from None
        folder = resolved
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(
            f"{folder} exists and is not a folder; choose another path"
        )
    return folder


def save_folder(
    folder: str | os.PathLike[str],
    config: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    *,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write a model folder whole: into a hidden sibling, then renamed into place.

    `extra_files` (name -> bytes), and those of an enclosing `saving_with`, are
    written into the folder too. Other entries of a folder being replaced (a
    checkpoint folder, a report) are moved into the new one.
    """
    from safetensors.torch import save

    folder = model_target(folder)
    files = {**(_extra_files.get() or {}), **(extra_files or {})}
    blob = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **config,
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
        "weights_bytes": len(blob),
    }
    text = json.dumps(config, indent=2, allow_nan=False).encode()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _parent_lock(folder.parent):
        _remove_stale(folder)
        tmp: Path | None = None
        try:
            with deferred_signals():
                tmp = Path(tempfile.mkdtemp(".tmp", _tmp_prefix(folder), folder.parent))
            os.chmod(tmp, 0o777 & ~_umask())
            _write_file(tmp / WEIGHTS_FILE, blob)
            for name, data in files.items():
                _write_file(tmp / name, data)
            _write_file(tmp / CONFIG_FILE, text)  # last: it vouches for the weights
            fsync_dir(tmp)
            _write_step("written", tmp)
            with deferred_signals():
                tmp = _replace_folder(tmp, folder, {*files, CONFIG_FILE, WEIGHTS_FILE})
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        fsync_dir(folder.parent)
    return folder


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _replace_folder(new: Path, folder: Path, written: set[str]) -> Path | None:
    """Put the complete folder `new` at `folder`; return what to delete (the old one).

    Entries of the old folder that `new` does not replace are moved into `new`
    first, and moved back if the swap fails.
    """
    if not os.path.lexists(folder):
        os.rename(new, folder)
        return None
    moved = [
        p.name
        for p in folder.iterdir()
        if p.name not in written and p.name != LOCK_FILE
    ]
    for name in moved:
        os.rename(folder / name, new / name)
    try:
        if _exchange(new, folder):
            return new  # now the old folder
        old = new.with_name(new.name[: -len(".tmp")] + ".old.tmp")
        os.rename(folder, old)
        try:
            os.rename(new, folder)
        except BaseException:
            os.rename(old, folder)
            raise
        return old
    except BaseException:
        for name in moved:
            with contextlib.suppress(OSError):
                os.rename(new / name, folder / name)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where that is unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange):
        err = ctypes.get_errno()
        if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            return False
        raise OSError(err, os.strerror(err), str(b))
    return True


# -- reading -------------------------------------------------------------------


def _read(path: Path, limit: int | None = None) -> bytes:
    """A whole small file (a config), refused beyond `limit` bytes."""
    return read_checked(path, limit=limit, what="an aekit config")


def read_checked(
    path: Path,
    *,
    sha256: Any = None,
    size: Any = None,
    limit: int | None = None,
    mismatch: str = "",
    what: str = "ours",
) -> bytes:
    """Read `path`, checking its size before reading and its SHA-256 while streaming.

    The one reader of model folders and checkpoints. With `sha256`, the file is
    hashed in chunks first and read only if it matches, so a huge or sparse
    file costs no memory; with `size` (bytes recorded at save), a file of
    another size is refused before reading. Either mismatch raises
    ModelFormatError(`mismatch`); a file over `limit` bytes is not `what`.
    """
    if not path.exists():
        raise ModelFormatError(f"{path} is missing; is this an aekit model folder?")
    if not path.is_file():
        raise ModelFormatError(f"{path} is not a file")
    try:
        with open(path, "rb") as f:
            actual = os.fstat(f.fileno()).st_size
            if limit is not None and actual > limit:
                raise ModelFormatError(
                    f"{path} is larger than {limit} bytes; not {what}"
                )
            if sha256 is not None:
                if _is_size(size) and actual != size:
                    raise ModelFormatError(
                        f"{mismatch} ({path} holds {actual} bytes, {size} were saved)"
                    )
                digest = hashlib.sha256()
                for chunk in iter(lambda: f.read(_CHUNK), b""):
                    digest.update(chunk)
                if digest.hexdigest() != sha256:
                    raise ModelFormatError(mismatch)
                f.seek(0)
            data = f.read() if limit is None else f.read(limit + 1)
    except OSError as e:
        raise ModelFormatError(f"{path} cannot be read: {e.strerror}") from None
    if limit is not None and len(data) > limit:  # grew, or not a regular file
        raise ModelFormatError(f"{path} is larger than {limit} bytes; not {what}")
    return data


_CHUNK = 2**20


def _is_size(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def read_folder(
    folder: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read and check a model folder; return (config, tensors) or raise ModelFormatError."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    from . import __version__

    folder = Path(folder)
    if not folder.exists():
        raise ModelFormatError(f"model folder {folder} does not exist")
    if not folder.is_dir():
        raise ModelFormatError(
            f"{folder} is a file, not a model folder; pass the folder that holds "
            f"{CONFIG_FILE} and {WEIGHTS_FILE}"
        )
    cfg_path = folder / CONFIG_FILE
    raw = _read(cfg_path, MAX_CONFIG_BYTES)
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # e.g. too deep
        raise ModelFormatError(
            f"{cfg_path} is not valid JSON ({e}); the file is corrupted"
        ) from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFormatError(
            f'{cfg_path} is not an aekit model config (no "format": "{FORMAT}"); '
            "was this folder written by another tool?"
        )
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFormatError(
            f"{cfg_path}: format_version must be an integer, got {version!r}"
        )
    if version > FORMAT_VERSION or version < 1:
        raise ModelFormatError(
            f"{cfg_path} has format version {version} (written by aekit "
            f"{config.get('aekit_version', '?')}); this aekit {__version__} reads format "
            f"{FORMAT_VERSION}: install a matching aekit version"
        )
    blob = read_checked(
        folder / WEIGHTS_FILE,
        sha256=str(config.get("weights_sha256")),
        size=config.get("weights_bytes"),
        mismatch=f"{folder / WEIGHTS_FILE} does not match the checksum in "
        f"{cfg_path}: the file is truncated, corrupted or from another save; save "
        "the model again",
    )
    try:
        tensors = load(blob)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as e:
        raise ModelFormatError(
            f"{folder / WEIGHTS_FILE} is not a valid safetensors file: {e}"
        ) from None
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ModelFormatError(
                f"{folder / WEIGHTS_FILE}: tensor {name!r} holds NaN or infinite "
                "values; the file is corrupted"
            )
    return config, tensors
