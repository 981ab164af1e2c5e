"""Where a study lives: in memory, a journal file, or a database, on Optuna's storages.

A journal file (``journal:PATH``, or a path ending in ``.log``/``.journal``)
is shared by the processes of one machine; a database URL (``sqlite:///...``,
``postgresql://...``, ``mysql+pymysql://...``) by many machines. A database
records a heartbeat per running trial: a trial whose worker died is failed
after the grace period and run again once. A journal has no heartbeat: a
worker marks each trial with its host and process id, and a later worker on
the same host fails the trials of a process that no longer exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import warnings
from collections.abc import Iterator
from typing import Any

HEARTBEAT_SECONDS = 10  # a running trial writes a heartbeat this often (databases)
GRACE_SECONDS = 60  # ... and is failed when none came for this long
JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")
WORKER_ATTR = "worker"  # trial user attribute: {"host": ..., "pid": ...}


# database schemes whose drivers are separate packages: what to install
DRIVERS = {
    "postgresql": "psycopg2-binary",
    "postgresql+psycopg2": "psycopg2-binary",
    "postgresql+psycopg": "psycopg[binary]",
    "mysql": "mysqlclient",
    "mysql+mysqldb": "mysqlclient",
    "mysql+pymysql": "pymysql",
}


def make_storage(url: str | None) -> Any:
    """The Optuna storage for `url`: None in memory, a journal file, or a database.

    Every way a storage can be wrong (an unknown scheme, a missing driver, a
    folder that does not exist, a damaged file) is a ValueError naming the
    storage and the way out.
    """
    import optuna

    if url is None:
        return optuna.storages.InMemoryStorage()
    if url.startswith("journal:") or url.endswith(JOURNAL_SUFFIXES):
        return _journal(url.removeprefix("journal:"))
    if "://" not in url:
        raise ValueError(
            f"storage {url!r} is neither a journal file (journal:PATH or a path "
            f"ending in {', '.join(JOURNAL_SUFFIXES)}) nor a database URL such as "
            "sqlite:///study.db or postgresql://user:pass@host/db"
        )
    return _database(optuna, url)


def _journal(path: str) -> Any:
    from optuna.storages.journal import (
        JournalFileBackend,
        JournalFileOpenLock,
        JournalStorage,
    )

    if not path:
        raise ValueError("storage 'journal:' names no file; give journal:PATH")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(
            f"storage journal:{path}: the folder {folder} does not exist; create it "
            "or give a journal file in an existing folder"
        )
    try:
        # an open lock (O_EXCL lock file) also works on filesystems without symlinks
        return JournalStorage(
            JournalFileBackend(path, lock_obj=JournalFileOpenLock(path))
        )
    except (ValueError, UnicodeDecodeError) as e:  # json's errors are ValueErrors
        raise damaged_journal(path, e) from None


@contextlib.contextmanager
def damage_named(url: str | None) -> Iterator[None]:
    """Within the block, a journal that stops reading back is named as damaged.

    A journal is read again whenever a worker syncs with it, so a damaged
    line can surface in the middle of a search, not only when it opens.
    """
    try:
        yield
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        if url is None or not (
            url.startswith("journal:") or url.endswith(JOURNAL_SUFFIXES)
        ):
            raise
        raise damaged_journal(url.removeprefix("journal:"), e) from None


def damaged_journal(path: str, e: BaseException) -> ValueError:
    """The one line for a journal file that does not read back as a journal."""
    return ValueError(
        f"the journal file {path} is damaged ({type(e).__name__}: "
        f"{str(e)[:80]}): restore it from a copy, or start a new study with "
        "another --storage file"
    )


def _database(optuna: Any, url: str) -> Any:
    scheme = url.split("://", 1)[0]
    if url in ("sqlite://", "sqlite:///", "sqlite:///:memory:"):
        raise ValueError(
            f"storage {url!r} is an in-memory database that no other process can "
            "share: leave --storage out for a search in memory, or give a file, "
            "sqlite:///study.db"
        )
    import sqlalchemy.exc as sa

    try:
        return _open_database(optuna, url, sa)
    except sa.NoSuchModuleError:
        raise ValueError(
            f"storage {url!r}: unknown database scheme {scheme!r}; use sqlite:///PATH, "
            "postgresql://user:pass@host/db, mysql+pymysql://user:pass@host/db or "
            "journal:PATH"
        ) from None
    except ImportError:
        package = DRIVERS.get(scheme, f"the driver of {scheme!r}")
        raise ValueError(
            f"storage {url!r} needs its database driver: pip install {package}"
        ) from None
    except sa.SQLAlchemyError as e:
        raise ValueError(f"storage {url!r}: {_database_problem(url, e)}") from None


OPEN_TRIES = 5  # workers opening a new database at once race to create its tables


def _open_database(optuna: Any, url: str, sa: Any) -> Any:
    """Optuna's RDBStorage on `url`, tried again while workers race to set it up.

    Workers started together on a new database all create its tables and
    stamp its schema version; the losers see "already exists", a duplicate
    row or a locked file, and find the tables made when they try again.
    """
    for attempt in range(OPEN_TRIES):
        try:
            with warnings.catch_warnings():  # the heartbeat is "experimental"
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
                return optuna.storages.RDBStorage(
                    url,
                    heartbeat_interval=HEARTBEAT_SECONDS,
                    grace_period=GRACE_SECONDS,
                    heartbeat_stale_trial_callback=retry,
                )
        except (sa.OperationalError, sa.IntegrityError) as e:
            text = str(getattr(e, "orig", None) or e)
            racing = any(
                w in text for w in ("already exists", "locked", "UNIQUE", "duplicate")
            )
            if not racing or attempt == OPEN_TRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _database_problem(url: str, e: Exception) -> str:
    text = str(getattr(e, "orig", None) or e).splitlines()[0][:160]
    if url.startswith("sqlite:"):
        path = url.split(":///", 1)[-1]
        if "unable to open" in text:
            return (
                f"cannot open the file {path} ({text}); does its folder exist and "
                "can it be written?"
            )
        if "not a database" in text or "malformed" in text:
            return (
                f"{path} is not an SQLite database or is damaged ({text}); restore "
                "it from a copy, or give another file"
            )
    return f"the database cannot be used ({text}); check the URL and the server"


def mark_worker(trial: Any) -> None:
    """Record this process on the trial, so that a later worker can fail it if we die."""
    trial.set_user_attr(WORKER_ATTR, {"host": socket.gethostname(), "pid": os.getpid()})


def fail_orphans(study: Any, storage: Any) -> list[int]:
    """Fail the running trials of dead processes of this host; their numbers.

    For storages without a heartbeat (a journal file): a worker killed
    mid-trial leaves its trial running forever; this ends it as failed.
    """
    from optuna.trial import TrialState

    host = socket.gethostname()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        w = t.user_attrs.get(WORKER_ATTR)
        if not isinstance(w, dict) or w.get("host") != host:
            continue
        pid = w.get("pid")
        if not isinstance(pid, int) or pid == os.getpid() or _alive(pid):
            continue
        study_id = storage.get_study_id_from_name(study.study_name)
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
        failed.append(t.number)
    return failed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
