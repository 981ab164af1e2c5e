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

import os
import socket
import warnings
from typing import Any

HEARTBEAT_SECONDS = 10  # a running trial writes a heartbeat this often (databases)
GRACE_SECONDS = 60  # ... and is failed when none came for this long
JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")
WORKER_ATTR = "worker"  # trial user attribute: {"host": ..., "pid": ...}


def make_storage(url: str | None) -> Any:
    """The Optuna storage for `url`: None in memory, a journal file, or a database."""
    import optuna

    if url is None:
        return optuna.storages.InMemoryStorage()
    if url.startswith("journal:") or url.endswith(JOURNAL_SUFFIXES):
        from optuna.storages.journal import (
            JournalFileBackend,
            JournalFileOpenLock,
            JournalStorage,
        )

        path = url.removeprefix("journal:")
        # an open lock (O_EXCL lock file) also works on filesystems without symlinks
        return JournalStorage(
            JournalFileBackend(path, lock_obj=JournalFileOpenLock(path))
        )
    if "://" not in url:
        raise ValueError(
            f"storage {url!r} is neither a journal file (journal:PATH or a path "
            f"ending in {', '.join(JOURNAL_SUFFIXES)}) nor a database URL such as "
            "sqlite:///study.db or postgresql://user:pass@host/db"
        )
    with warnings.catch_warnings():  # the heartbeat is "experimental" in Optuna 5
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
        return optuna.storages.RDBStorage(
            url,
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=retry,
        )


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
