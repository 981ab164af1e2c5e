"""Whole-or-nothing writes: a file or a folder, renamed into place once complete.

A file (`write_atomic`, `atomic_open`) or a folder (`write_folder_atomic`) is
written to a hidden temporary sibling, flushed, and renamed into place only
when complete. A failed or interrupted write removes its temporary file or
folder and leaves the previous state exactly; a temporary left by a killed
process is removed by the next write to the same target. SIGINT and SIGTERM
are held back for the instant of the rename itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .layout import LOCK_FILE, MODEL_FILES


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


def write_folder_atomic(folder: Path, files: dict[str, bytes]) -> None:
    """Write the folder `folder` holding `files` (name -> bytes, in order) whole.

    The files go into a hidden sibling folder, which is renamed into place when
    complete, under a lock on the parent folder. Other entries of a folder
    being replaced (a checkpoint folder, a report) are moved into the new one.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _parent_lock(folder.parent):
        _remove_stale(folder)
        tmp: Path | None = None
        try:
            with deferred_signals():
                tmp = Path(tempfile.mkdtemp(".tmp", _tmp_prefix(folder), folder.parent))
            os.chmod(tmp, 0o777 & ~_umask())
            for name, data in files.items():
                _write_file(tmp / name, data)
            fsync_dir(tmp)
            _write_step("written", tmp)
            with deferred_signals():
                tmp = _replace_folder(tmp, folder, set(files))
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        fsync_dir(folder.parent)


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


# -- swapping a folder into place ------------------------------------------------


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
