"""DataLoader: batches from a dataset, loaded in the main process or in worker processes.

With ``num_workers > 0`` (:class:`_MultiProcessingDataLoaderIter`) the main process sends
each batch's indices to one worker's index queue, round-robin, keeping up to
``prefetch_factor`` batches outstanding per worker; the workers (``_utils/worker.py``) put
the collated batches on one shared result queue, large arrays travelling through shared
memory (``_utils/transfer.py``). Batches can arrive out of order, so the main process
keeps those that are early, keyed by their send index, and yields them in order (unless
``in_order=False``). While it waits it checks every ``MP_STATUS_CHECK_INTERVAL`` seconds
that its workers are alive, so a dead worker is an error, not a hang.
"""
from __future__ import annotations

import atexit
import itertools
import math
import multiprocessing
import os
import queue
import secrets
import signal
import threading
import time
import warnings
import weakref
from typing import Any, Generic, TypeVar

from . import _utils
from ._utils import ExceptionWrapper, transfer
from ._utils.collate import default_collate, default_convert
from ._utils.fetch import _IterableDatasetFetcher, _MapDatasetFetcher
from ._utils.worker import (_IterableDatasetStopIteration, _ResumeIteration, _worker_loop,
                            get_worker_info)
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _draw_seed

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

T_co = TypeVar("T_co", covariant=True)


class _DatasetKind:
    Map = 0
    Iterable = 1

    @staticmethod
    def create_fetcher(kind, dataset, auto_collation, collate_fn, drop_last):
        cls = _MapDatasetFetcher if kind == _DatasetKind.Map else _IterableDatasetFetcher
        return cls(dataset, auto_collation, collate_fn, drop_last)


class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable dataset: ``None`` forever (the dataset decides when the
    stream ends)."""

    def __iter__(self):
        while True:
            yield None


def _cpu_count() -> int | None:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


class DataLoader(Generic[T_co]):
    """Iterate over a dataset in batches, optionally loading them in worker processes.

    Args:
        dataset: a map-style :class:`Dataset` (``len`` and indexing) or an
            :class:`IterableDataset`.
        batch_size: samples per batch; None turns automatic batching off (each sample is
            passed through ``collate_fn``, by default :func:`default_convert`, on its own).
        shuffle: reshuffle the indices every epoch (map-style datasets only).
        sampler: the order of indices (exclusive with ``shuffle``).
        batch_sampler: yields whole lists of indices (exclusive with ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``).
        num_workers: worker processes; 0 loads in the main process.
        collate_fn: merges a list of samples into a batch (default :func:`default_collate`).
        pin_memory: accepted for compatibility; there is no accelerator, so batches stay as
            they are (with PyTorch's warning that pinned memory won't be used).
        drop_last: drop the last batch if it is incomplete.
        timeout: seconds to wait for a batch from the workers before RuntimeError (0: wait
            for ever, checking that the workers are alive).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding
            and before loading.
        multiprocessing_context: a start method name (``'fork'``, ``'spawn'``,
            ``'forkserver'``) or a multiprocessing context; default: multiprocessing's
            default (``fork`` on Linux with Python 3.11).
        generator: the :class:`ember.Generator` for the ``RandomSampler`` made by
            ``shuffle=True`` and for the workers' base seed.
        prefetch_factor: batches each worker loads ahead (default 2 with workers).
        persistent_workers: keep the workers alive between epochs.
        pin_memory_device: deprecated in PyTorch; accepted and ignored.
        in_order: yield batches in sampler order; ``False`` yields them as they arrive.

    Randomness in workers: each worker seeds ember's global generator, ``random`` and
    NumPy's global generator with ``base_seed + worker_id``; ``base_seed`` is drawn from
    ``generator`` (or ember's global generator) each time the workers start, so random
    augmentations differ between workers and epochs and ``ember.manual_seed`` reproduces
    them.
    """

    _iterator = None
    __initialized = False

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        # dataset-related checks first: an iterable dataset takes no sampler of any kind
        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = _DatasetKind.Map

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        self._IterableDataset_len_called = None
        self._iterator = None
        self.check_worker_number_rationality()

    # ------------------------------------------------------------------ configuration
    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, multiprocessing_context) -> None:
        if multiprocessing_context is not None:
            if self.num_workers <= 0:
                raise ValueError(f"multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(multiprocessing_context, str):
                methods = multiprocessing.get_all_start_methods()
                if multiprocessing_context not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid "
                                     f"start method in {methods!r}, but got "
                                     f"multiprocessing_context={multiprocessing_context!r}")
                multiprocessing_context = multiprocessing.get_context(multiprocessing_context)
            if not isinstance(multiprocessing_context, multiprocessing.context.BaseContext):
                raise TypeError(f"multiprocessing_context option should be a valid context "
                                f"object or a string specifying the start method, but got "
                                f"multiprocessing_context={multiprocessing_context}")
        self.__multiprocessing_context = multiprocessing_context

    def __setattr__(self, attr, val) -> None:
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler",
                                           "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        # what the iterator draws from: whole batches of indices with automatic batching,
        # single indices without
        return self.batch_sampler if self._auto_collation else self.sampler

    def check_worker_number_rationality(self) -> None:
        """Warn when there are more workers than CPUs this process may use."""
        if not self.num_workers:
            return
        suggest = _cpu_count()
        if suggest is None or self.num_workers > suggest:
            cpuset = hasattr(os, "sched_getaffinity")
            if suggest is None:
                detail = ("DataLoader is not able to compute a suggested max number of worker "
                          "in current system.")
            else:
                detail = (f"Our suggested max number of worker in current system is {suggest}"
                          f"{'' if cpuset else ' (`cpuset` is not taken into account)'}, which "
                          f"is smaller than what this DataLoader is going to create.")
            warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in "
                          f"total. {detail} Please be aware that excessive worker creation "
                          f"might get DataLoader running slow or even freeze, lower the worker "
                          f"number to avoid potential slowness/freeze if necessary.",
                          stacklevel=2)

    # ------------------------------------------------------------------ iteration
    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        self.check_worker_number_rationality()
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self):
        # persistent workers live in one iterator, reset for each epoch; otherwise every
        # epoch gets a fresh iterator (and fresh workers)
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None or self._iterator._shutdown:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self) -> int:
        if self._dataset_kind == _DatasetKind.Iterable:
            # the dataset's own length (an error if it has none); remembered so that the
            # iterator can warn when more samples than that come out
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else \
                    math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)


class _BaseDataLoaderIter:
    def __init__(self, loader: DataLoader) -> None:
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        if loader.pin_memory and loader.pin_memory_device:
            warnings.warn(f"pin_memory_device is deprecated, the current accelerator will be "
                          f"used as the device,ignore "
                          f"pin_memory_device='{loader.pin_memory_device}'.", stacklevel=3)
        if loader.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        self._pin_memory = False                    # no accelerator: nothing to pin for
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = _draw_seed(loader.generator)
        self._persistent_workers = loader.persistent_workers
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter=False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called

    def _next_index(self):
        return next(self._sampler_iter)

    def _next_data(self):
        raise NotImplementedError

    def __next__(self) -> Any:
        data = self._next_data()
        self._num_yielded += 1
        if self._dataset_kind == _DatasetKind.Iterable and \
                self._IterableDataset_len_called is not None and \
                self._num_yielded > self._IterableDataset_len_called:
            msg = (f"Length of IterableDataset {self._dataset} was reported to be "
                   f"{self._IterableDataset_len_called}(when accessing len(dataloader)), but "
                   f"{self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                msg += ("For multiprocessing data-loading, this could be caused by not "
                        "properly configuring the IterableDataset replica at each worker. "
                        "Please see the IterableDataset documentation (get_worker_info) for "
                        "examples.")
            warnings.warn(msg, stacklevel=2)
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError(f"{self.__class__.__name__} cannot be pickled")


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    """Loads each batch in the main process, when it is asked for."""

    _shutdown = False

    def __init__(self, loader) -> None:
        super().__init__(loader)
        if self._timeout != 0:
            raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
        self._dataset_fetcher = _DatasetKind.create_fetcher(
            self._dataset_kind, self._dataset, self._auto_collation, self._collate_fn,
            self._drop_last)

    def _next_data(self):
        index = self._next_index()                  # may raise StopIteration
        return self._dataset_fetcher.fetch(index)   # may raise StopIteration


# iterators with live workers, shut down in order at interpreter exit (before
# python_exit_status makes their __del__ a no-op); see _shutdown_all_at_exit
_live_iterators: weakref.WeakSet = weakref.WeakSet()
_live_lock = threading.RLock()     # re-entrant: __del__ may run (gc) while it is held


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Loads batches in ``num_workers`` worker processes.

    Bookkeeping: ``_send_idx`` numbers the tasks sent, ``_rcvd_idx`` is the next one to
    yield; ``_task_info[i]`` is ``(worker_id,)`` while task ``i`` is outstanding and
    ``(worker_id, batch)`` once it arrived early. ``_workers_status[w]`` is False once worker
    ``w`` has nothing more to give this epoch (its iterable dataset ended).

    Shutdown (end of the epoch, ``del``, garbage collection, an error, interpreter exit):
    set the done event, send ``None`` to every worker, join them (terminating any that do
    not exit in time), close the queues and remove shared-memory blocks that were never
    received. Workers also exit on their own when the main process dies.
    """

    _shutdown = True                      # until the workers exist

    def __init__(self, loader) -> None:
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        if self._prefetch_factor <= 0:
            raise AssertionError("prefetch_factor must be greater than 0 for "
                                 "MultiProcessingDataLoaderIter")
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        self._worker_init_fn = loader.worker_init_fn
        # a forked worker holds a copy of this object: only the process that made the
        # workers may shut them down (see _shutdown_workers)
        self._owner_pid = os.getpid()
        self._shm_prefix = f"ember_dl_{self._owner_pid}_{secrets.token_hex(4)}_"
        self._worker_result_queue = ctx.Queue()
        self._data_queue = self._worker_result_queue
        self._workers_done_event = ctx.Event()
        self._index_queues = []
        self._workers = []
        self._workers_status = []
        self._shutdown = False
        with _live_lock:
            _live_iterators.add(self)
        try:
            for i in range(self._num_workers):
                index_queue = ctx.Queue()
                # never wait at exit for undelivered indices (the worker may be gone)
                index_queue.cancel_join_thread()
                w = ctx.Process(
                    target=_worker_loop,
                    args=(self._dataset_kind, self._dataset, index_queue,
                          self._worker_result_queue, self._workers_done_event,
                          self._auto_collation, self._collate_fn, self._drop_last,
                          self._base_seed, self._worker_init_fn, i, self._num_workers,
                          self._persistent_workers, os.getpid(),
                          f"{self._shm_prefix}w{i}_", transfer.SHM_THRESHOLD),
                    daemon=True)
                w.start()
                # only started workers are recorded, so shutdown never joins an unstarted one
                self._index_queues.append(index_queue)
                self._workers.append(w)
                self._workers_status.append(True)
            self._reset(loader, first_iter=True)
        except BaseException:
            self._shutdown_workers()
            raise

    def _reset(self, loader, first_iter=False) -> None:
        super()._reset(loader, first_iter)
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_info = {}
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._workers_num_tasks = [0] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # persistent workers: start a new epoch; whatever the workers still send from the
            # previous one precedes their acknowledgement and is dropped
            for q in self._index_queues:
                q.put(_ResumeIteration())
            pending = self._num_workers
            while pending > 0:
                idx, data = self._get_data()
                if isinstance(idx, _ResumeIteration):
                    pending -= 1
                else:
                    transfer.discard(data)
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    # ------------------------------------------------------------------ receiving
    def _try_get_data(self, timeout):
        """One wait of at most ``timeout`` s on the result queue: ``(True, item)`` or
        ``(False, None)``; raises RuntimeError (after shutting down) if a worker that still
        had work has died."""
        try:
            return True, self._data_queue.get(timeout=timeout)
        except Exception as e:
            failed = [(wid, w) for wid, w in enumerate(self._workers)
                      if self._workers_status[wid] and not w.is_alive()]
            if failed:
                pids = ", ".join(str(w.pid) for _, w in failed)
                details = "; ".join(_describe_exit(w) for _, w in failed)
                for wid, _ in failed:
                    self._workers_status[wid] = False
                self._shutdown_workers()
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly "
                                   f"({details})") from e
            if isinstance(e, queue.Empty):
                return False, None
            raise

    def _get_data(self):
        """The next item from the result queue, waiting in short steps so that dead workers
        are noticed; RuntimeError after ``timeout`` seconds if one is set."""
        interval = _utils.MP_STATUS_CHECK_INTERVAL
        if self._timeout > 0:
            deadline = time.monotonic() + self._timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
                ok, data = self._try_get_data(min(left, interval))
                if ok:
                    return data
        while True:
            ok, data = self._try_get_data(interval)
            if ok:
                return data

    def _next_data(self):
        while True:
            # skip tasks that a worker whose iterable ended will never answer
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info:
                    if len(info) == 2 or self._workers_status[info[0]]:
                        break
                    del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration

            if len(self._task_info[self._rcvd_idx]) == 2:          # arrived earlier
                worker_id, data = self._task_info.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

            if self._shutdown or self._tasks_outstanding <= 0:
                raise AssertionError("Invalid iterator state: shutdown or no outstanding "
                                     "tasks when fetching next data")
            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _IterableDatasetStopIteration):
                if self._persistent_workers:
                    self._workers_status[data.worker_id] = False
                else:
                    self._mark_worker_as_unavailable(data.worker_id)
                self._try_put_index()
                continue
            # unpack at once: this unlinks its shared memory, whatever happens next
            if isinstance(data, transfer.Message):
                data = transfer.unpack(data)
            if idx != self._rcvd_idx:
                if not self._in_order:
                    worker_id = self._task_info.pop(idx)[0]
                    return self._process_data(data, worker_id)
                self._task_info[idx] += (data,)
            else:
                worker_id = self._task_info.pop(idx)[0]
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

    def _process_data(self, data, worker_id):
        self._workers_num_tasks[worker_id] -= 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    # ------------------------------------------------------------------ sending
    def _try_put_index(self) -> None:
        max_tasks = self._prefetch_factor * self._num_workers
        if self._tasks_outstanding >= max_tasks:
            raise AssertionError("Number of outstanding tasks exceeded maximum allowed tasks")
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):            # the next worker that can take it
            wid = next(self._worker_queue_idx_cycle)
            if self._workers_status[wid]:
                if self._in_order:
                    break
                # out of order: spread the work by capacity, not strictly round-robin
                if self._workers_num_tasks[wid] < max_tasks // sum(self._workers_status):
                    break
        else:
            return
        self._index_queues[wid].put((self._send_idx, index))
        self._task_info[self._send_idx] = (wid,)
        self._workers_num_tasks[wid] += 1
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _mark_worker_as_unavailable(self, worker_id, shutdown=False) -> None:
        """Tell worker ``worker_id`` to exit (``None`` on its queue); it is joined at
        shutdown, so an error it raises on the way out is still seen."""
        self._index_queues[worker_id].put(None)
        self._workers_status[worker_id] = False

    # ------------------------------------------------------------------ shutdown
    def _shutdown_workers(self) -> None:
        if _utils is None or _utils.python_exit_status is not False:
            return                  # interpreter exit: multiprocessing terminates daemons
        if self._shutdown or os.getpid() != self._owner_pid:
            return
        self._shutdown = True
        try:
            self._workers_done_event.set()
            for wid in range(len(self._workers)):
                if self._persistent_workers or self._workers_status[wid]:
                    self._mark_worker_as_unavailable(wid, shutdown=True)
            deadline = time.monotonic() + _utils.JOIN_TIMEOUT
            for w in self._workers:
                w.join(timeout=max(0.0, deadline - time.monotonic()))
            for q in self._index_queues:
                q.cancel_join_thread()
                q.close()
        finally:
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=_utils.JOIN_TIMEOUT)
                    if w.is_alive():
                        w.kill()
                        w.join()
            self._worker_result_queue.cancel_join_thread()
            self._worker_result_queue.close()
            transfer.cleanup_prefix(self._shm_prefix)
            with _live_lock:
                _live_iterators.discard(self)

    def __del__(self) -> None:
        try:
            self._shutdown_workers()
        except Exception:           # never raise from a finaliser (e.g. half-built object)
            pass


def _describe_exit(w) -> str:
    code = w.exitcode
    if code is None:
        return f"pid {w.pid}: state unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"pid {w.pid} was killed by {name}"
    return f"pid {w.pid} exited with code {code}"


def _shutdown_all_at_exit() -> None:
    # registered after _utils' exit flag, so it runs first (atexit is last-in first-out):
    # live iterators (e.g. persistent workers held by a loader) shut down in order and
    # remove their shared memory while everything is still importable
    with _live_lock:
        live = list(_live_iterators)
    for it in live:
        try:
            it._shutdown_workers()
        except Exception:
            pass


atexit.register(_shutdown_all_at_exit)
