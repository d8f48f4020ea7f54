"""The DataLoader worker process: :func:`_worker_loop` and :func:`get_worker_info`.

A worker receives ``(send_idx, indices)`` tasks on its own index queue, fetches and collates
the batch, and puts ``(send_idx, packed batch)`` on the result queue shared by all workers.
``None`` on the index queue (or the done event, once set) tells it to exit;
:class:`_ResumeIteration` (persistent workers) to start a new epoch. It also exits by
itself when the main process dies.
"""
from __future__ import annotations

import os
import queue
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from .... import _random
from . import MP_STATUS_CHECK_INTERVAL, ExceptionWrapper, transfer

__all__ = ["WorkerInfo", "get_worker_info"]


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """What a DataLoader worker knows about itself (see :func:`get_worker_info`).

    Attributes:
        id: this worker's index, ``0 .. num_workers - 1``.
        num_workers: the number of workers of the loader.
        seed: the seed of this worker's random generators: ``base_seed + id``, where the
            loader draws ``base_seed`` from its ``generator`` (or ember's global generator)
            when the workers start.
        dataset: this process's copy of the dataset.
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any
    rng: Any = None
    worker_method: str = "multiprocessing"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Inside a DataLoader worker process, its :class:`WorkerInfo` (``id``,
    ``num_workers``, ``seed``, ``dataset``); None in the main process.

    Use it in an :class:`IterableDataset`'s ``__iter__`` to give each worker its own share
    of the stream, or in ``worker_init_fn`` to configure each worker's copy of the dataset.
    """
    return _worker_info


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """Sent by a worker whose copy of an iterable dataset is exhausted."""
    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Sent to persistent workers to start a new epoch; echoed back as acknowledgement."""


class ManagerWatchdog:
    """Tells a worker whether the main process is still alive: a worker is reparented when
    its parent dies, so a changed parent pid means the main process (or, under forkserver,
    the server that forked us) is gone."""

    def __init__(self, main_pid: int) -> None:
        self.parent_pid = os.getppid()
        self.main_pid = main_pid
        self.dead = False

    def is_alive(self) -> bool:
        if not self.dead:
            self.dead = os.getppid() != self.parent_pid or not _pid_exists(self.main_pid)
        return not self.dead


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _seed_worker(seed: int) -> None:
    """Seed every global generator a dataset might use: ember's, ``random``'s and NumPy's
    (whose legacy seed takes 32-bit words, so it gets a SeedSequence expansion of
    ``seed``)."""
    random.seed(seed)
    _random.manual_seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(4))


def _worker_loop(dataset_kind, dataset, index_queue, data_queue, done_event, auto_collation,
                 collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers,
                 persistent_workers, main_pid, shm_prefix, shm_threshold) -> None:
    from ..dataloader import _DatasetKind  # (imports this module)

    global _worker_info
    where = f"in DataLoader worker process {worker_id}"
    watchdog = None
    try:
        seed = base_seed + worker_id
        _seed_worker(seed)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        transfer.start_worker(shm_prefix, shm_threshold)

        def make_fetcher():
            # creating it calls iter(dataset) for an iterable dataset, which may fail
            try:
                return _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation,
                                                   collate_fn, drop_last), None
            except Exception:
                return None, ExceptionWrapper(where=where)

        # an error in worker_init_fn (for good) or in making the fetcher (until the next
        # epoch) is the answer to every task, where the main process is waiting for it
        init_error = fetch_error = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
        except Exception:
            init_error = ExceptionWrapper(where=where)
        if init_error is None:
            fetcher, fetch_error = make_fetcher()

        # after an iterable dataset ends (or shutdown starts) tasks are skipped until None
        iteration_end = False
        watchdog = ManagerWatchdog(main_pid)
        while watchdog.is_alive():
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                # shutdown normally also sends None, but a loader freed by the garbage
                # collector may have had its queues finalised first, so the None never
                # comes: the done event alone is enough to go
                if done_event.is_set():
                    break
                continue
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                if init_error is None:
                    fetcher, fetch_error = make_fetcher()
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, index = r
            if init_error is not None or fetch_error is not None:
                data = init_error or fetch_error
            else:
                try:
                    data = transfer.pack(fetcher.fetch(index))
                except StopIteration:
                    transfer.discard_pending()
                    if dataset_kind == _DatasetKind.Iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=where)
                except Exception:
                    transfer.discard_pending()
                    data = ExceptionWrapper(where=where)
            data_queue.put((idx, data))
            del data, idx, index, r                    # don't hold a batch while waiting
    except KeyboardInterrupt:
        pass                                           # the main process raises it too
    if watchdog is not None and watchdog.dead:
        # nobody will receive what is still in flight
        transfer.cleanup_prefix(shm_prefix)
    if done_event.is_set() or (watchdog is not None and watchdog.dead):
        # don't wait at exit for the queue's feeder thread to flush into a pipe nobody reads
        data_queue.cancel_join_thread()
        data_queue.close()
