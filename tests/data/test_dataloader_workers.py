"""DataLoader with real worker processes (num_workers=2): results, ordering, seeding,
IterableDataset sharding, prefetching, persistent workers, shared-memory transfer, start
methods, and faults (exceptions, killed workers, timeouts, shutdown without orphans).

Datasets live at module level so that 'spawn' and 'forkserver' workers can import them.
"""
import gc
import mmap
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import ember
from ember.utils.data import (DataLoader, Dataset, IterableDataset, default_collate,
                              get_worker_info)
from ember.utils.data._utils import transfer

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses /proc and fork")

NW = 2


# ------------------------------------------------------------------------------ datasets

class Range(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


class Pid(Range):
    """Each item is (index, pid of the process that loaded it)."""

    def __getitem__(self, i):
        return i, os.getpid()


class Rand(Range):
    """Random draws from every global generator a dataset might use, and the worker info."""

    def __getitem__(self, i):
        info = get_worker_info()
        return {"i": i, "ember": ember.rand(1).item(), "numpy": float(np.random.rand()),
                "random": random.random(), "id": info.id, "seed": info.seed,
                "num_workers": info.num_workers, "dataset": type(info.dataset).__name__}


class Tagged(Range):
    """Items carry ``self.tag``, which worker_init_fn sets in each worker's copy."""
    tag = -1

    def __getitem__(self, i):
        return self.tag


def set_tag(worker_id):
    get_worker_info().dataset.tag = 100 + worker_id


class Sharded(IterableDataset):
    """0..n-1, split between workers by get_worker_info()."""

    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


class Uneven(IterableDataset):
    """Worker 0 yields 7 items, worker 1 yields 2: the loader must drain both."""

    def __iter__(self):
        info = get_worker_info()
        return iter([(info.id, k) for k in range(7 if info.id == 0 else 2)])


class Fails(Range):
    def __init__(self, n, bad, exc):
        super().__init__(n)
        self.bad, self.exc = bad, exc

    def __getitem__(self, i):
        if i == self.bad:
            raise self.exc
        return i


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


class KillSelf(Range):
    def __getitem__(self, i):
        if i == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


class Sleepy(Range):
    def __init__(self, n, delays):
        super().__init__(n)
        self.delays = delays

    def __getitem__(self, i):
        time.sleep(self.delays.get(i, 0))
        return i


class Big(Range):
    """Items large enough for shared memory: (array of i's, i)."""

    def __getitem__(self, i):
        return np.full(150_000, i, dtype=np.float32), i


class Counting(Range):
    """Counts loaded items in a shared counter (inherited by forked workers)."""

    def __init__(self, n, counter):
        super().__init__(n)
        self.counter = counter

    def __getitem__(self, i):
        with self.counter.get_lock():
            self.counter.value += 1
        return i


def identity(batch):
    return batch


# ------------------------------------------------------------------------------ helpers

def _alive(pid):
    """True while ``pid`` runs (a zombie has exited, so it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _assert_gone(pids, wait=0.0):
    deadline = time.monotonic() + wait
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if _alive(p)], f"workers still running: {pids}"


def _worker_pids(it):
    pids = [w.pid for w in it._workers]
    assert len(pids) == NW and all(_alive(p) for p in pids)
    return pids


def _shm_files():
    prefix = f"ember_dl_{os.getpid()}_"
    return [n for n in os.listdir(transfer.SHM_DIR) if n.startswith(prefix)] \
        if os.path.isdir(transfer.SHM_DIR) else []


def _in_shared_memory(t):
    """Whether tensor ``t`` wraps a mapped shared-memory block."""
    root = t.numpy()
    while isinstance(root.base, np.ndarray):
        root = root.base
    return isinstance(root.base, memoryview) and isinstance(root.base.obj, mmap.mmap)


def _values(loader):
    return [b.tolist() if isinstance(b, ember.Tensor) else b for b in loader]


# ------------------------------------------------------------------------------ results

@pytest.mark.parametrize("batch_size", [None, 1, 3])
def test_same_batches_as_single_process(batch_size):
    single = _values(DataLoader(Range(11), batch_size=batch_size))
    multi = DataLoader(Range(11), batch_size=batch_size, num_workers=NW)
    assert _values(multi) == single
    assert len(multi) == len(single)


def test_batches_are_loaded_by_the_workers_round_robin():
    batches = list(DataLoader(Pid(8), batch_size=2, num_workers=NW))
    pids = [b[1].tolist() for b in batches]
    assert all(len(set(p)) == 1 for p in pids)                  # one worker per batch
    assert pids[0][0] != os.getpid() and pids[0][0] != pids[1][0]
    assert pids[0] == pids[2] and pids[1] == pids[3]
    assert [b[0].tolist() for b in batches] == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_shuffle_reproducible_with_workers():
    def epoch(**kw):
        return sum(_values(DataLoader(Range(20), batch_size=3, shuffle=True,
                                      num_workers=NW, **kw)), [])

    ember.manual_seed(7)
    a = epoch()
    ember.manual_seed(7)
    assert epoch() == a and sorted(a) == list(range(20))
    b = epoch(generator=ember.Generator().manual_seed(3))
    assert epoch(generator=ember.Generator().manual_seed(3)) == b


def test_worker_seeding():
    def run(**kw):
        return list(DataLoader(Rand(6), batch_size=None, num_workers=NW, **kw))

    ember.manual_seed(42)
    first = run()
    by_worker = {w: [r for r in first if r["id"] == w] for w in range(NW)}
    assert [len(v) for v in by_worker.values()] == [3, 3]
    seeds = {r["id"]: r["seed"] for r in first}
    assert seeds[1] == seeds[0] + 1                        # base_seed + worker_id
    assert all(r["num_workers"] == NW and r["dataset"] == "Rand" for r in first)
    # every generator gives different numbers in different workers
    for key in ("ember", "numpy", "random"):
        assert by_worker[0][0][key] != by_worker[1][0][key], key
    # ... reproducibly under manual_seed, and afresh in the next epoch
    second = run()
    ember.manual_seed(42)
    assert run() == first
    assert second[0]["seed"] != first[0]["seed"] and second[0]["ember"] != first[0]["ember"]
    # the loader's generator, when given, draws the base seed
    g = run(generator=ember.Generator().manual_seed(5))
    assert run(generator=ember.Generator().manual_seed(5)) == g


def test_worker_init_fn_and_get_worker_info():
    out = _values(DataLoader(Tagged(4), batch_size=None, num_workers=NW,
                             worker_init_fn=set_tag))
    assert out == [100, 101, 100, 101]
    assert get_worker_info() is None


def test_iterable_dataset_sharding():
    out = sum(_values(DataLoader(Sharded(10), batch_size=2, num_workers=NW)), [])
    assert sorted(out) == list(range(10))                      # no duplicates, nothing lost
    # without sharding every worker yields the whole stream
    dup = sum(_values(DataLoader(Sharded(5, shard=False), batch_size=2, num_workers=NW)), [])
    assert sorted(dup) == sorted(list(range(5)) * NW)


def test_iterable_dataset_workers_ending_at_different_times():
    out = list(DataLoader(Uneven(), batch_size=2, num_workers=NW))
    items = sorted(tuple(x) for b in out for x in zip(b[0].tolist(), b[1].tolist()))
    assert items == sorted([(0, k) for k in range(7)] + [(1, 0), (1, 1)])
    no_batch = list(DataLoader(Uneven(), batch_size=None, num_workers=NW))
    assert len(no_batch) == 9


def test_iterable_length_warning_with_workers():
    class Long(Sharded):
        def __len__(self):
            return 2

    dl = DataLoader(Long(4, shard=False), batch_size=None, num_workers=NW)
    assert len(dl) == 2
    with pytest.warns(UserWarning, match="not properly configuring the IterableDataset "
                                         "replica at each worker"):
        list(dl)


@pytest.mark.parametrize("in_order", [True, False])
def test_in_order(in_order):
    # batch 0 (worker 0) is slow: in order it still comes first, otherwise it comes late
    dl = DataLoader(Sleepy(8, {0: 0.8}), batch_size=2, num_workers=NW, in_order=in_order)
    out = _values(dl)
    assert sorted(out) == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert (out[0] == [0, 1]) == in_order


@pytest.mark.parametrize("prefetch_factor", [1, 2])
def test_prefetch_factor_bounds_outstanding_batches(prefetch_factor):
    counter = multiprocessing.get_context("fork").Value("i", 0)
    dl = DataLoader(Counting(20, counter), batch_size=None, num_workers=NW,
                    prefetch_factor=prefetch_factor, multiprocessing_context="fork")
    it = iter(dl)
    assert next(it) == 0
    expected = 1 + prefetch_factor * NW         # the one taken, and a full pipeline behind it
    deadline = time.monotonic() + 5
    while counter.value < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)                             # nothing beyond the bound is loaded
    assert counter.value == expected
    assert it._tasks_outstanding <= prefetch_factor * NW
    assert list(it) == list(range(1, 20))


def test_prefetch_factor_zero_is_refused_when_iterating():
    dl = DataLoader(Range(2), num_workers=NW, prefetch_factor=0)
    with pytest.raises(AssertionError, match="prefetch_factor must be greater than 0"):
        iter(dl)


# ------------------------------------------------------------------------------ persistent

def test_persistent_workers_survive_epochs():
    dl = DataLoader(Pid(6), batch_size=2, num_workers=NW, persistent_workers=True)
    pids = None
    for _ in range(3):
        out = list(dl)
        assert [b[0].tolist() for b in out] == [[0, 1], [2, 3], [4, 5]]
        now = sorted({p for b in out for p in b[1].tolist()})
        assert pids is None or now == pids
        pids = now
    workers = _worker_pids(dl._iterator)
    assert sorted(workers) == pids
    # leaving an epoch early and starting again resets the iteration
    for b in dl:
        break
    assert [b[0].tolist() for b in dl] == [[0, 1], [2, 3], [4, 5]]
    it = dl._iterator
    del dl, it, b
    gc.collect()
    _assert_gone(workers)


def test_persistent_workers_shuffle_and_iterable():
    dl = DataLoader(Range(12), batch_size=12, shuffle=True, num_workers=NW,
                    persistent_workers=True)
    a, b = _values(dl), _values(dl)
    assert sorted(a[0]) == sorted(b[0]) == list(range(12)) and a != b
    it = DataLoader(Sharded(7), batch_size=3, num_workers=NW, persistent_workers=True)
    for _ in range(2):
        assert sorted(sum(_values(it), [])) == list(range(7))


# ------------------------------------------------------------------------------ transfer

def test_large_batches_travel_through_shared_memory():
    assert transfer.SHM_THRESHOLD is not None
    out = list(DataLoader(Big(6), batch_size=3, num_workers=NW))
    assert [b[1].tolist() for b in out] == [[0, 1, 2], [3, 4, 5]]
    x = out[1][0]
    assert x.shape == (3, 150_000) and x.dtype == ember.float32
    np.testing.assert_array_equal(x.numpy()[:, :3], [[3] * 3, [4] * 3, [5] * 3])
    assert _in_shared_memory(x)                        # wraps the shared block, no copy
    assert _in_shared_memory(out[0][0])
    x += 1                                             # writable
    assert x[0, 0].item() == 4.0
    assert _shm_files() == []                          # unlinked on arrival


def test_unbatched_and_noncontiguous_large_arrays():
    # no collation: each sample is copied into a block by the worker's pickler
    out = list(DataLoader(Big(3), batch_size=None, num_workers=NW))
    assert [s[1] for s in out] == [0, 1, 2]
    assert _in_shared_memory(out[2][0])
    assert out[2][0].shape == (150_000,) and out[2][0][7].item() == 2.0
    # a custom collate_fn returning non-contiguous arrays, several large buffers per batch
    def transposed(batch):                  # fork: closures are fine
        return {"t": np.stack([b[0].reshape(600, 250) for b in batch]).transpose(0, 2, 1),
                "copy": [b[0] for b in batch]}
    dl = DataLoader(Big(4), batch_size=2, num_workers=NW, collate_fn=transposed,
                    multiprocessing_context="fork")
    for k, b in enumerate(dl):
        assert b["t"].shape == (2, 250, 600)
        np.testing.assert_array_equal(b["t"][1], np.full((250, 600), 2 * k + 1))
        assert [c[0] for c in b["copy"]] == [2 * k, 2 * k + 1]
    assert _shm_files() == []


def test_pickle_transfer_when_shared_memory_is_off(monkeypatch):
    monkeypatch.setattr(transfer, "SHM_THRESHOLD", None)
    out = list(DataLoader(Big(4), batch_size=2, num_workers=NW))
    assert not _in_shared_memory(out[1][0])
    assert out[1][0][1, 0].item() == 3.0


def test_no_shared_memory_left_after_early_exit():
    for b in DataLoader(Big(12), batch_size=2, num_workers=NW, prefetch_factor=2):
        break                                   # batches in flight in blocks
    assert _shm_files() == []


def collate_then_fail(batch):
    default_collate(batch)              # makes a shared block in the worker
    raise ValueError("collate failed")


def collate_unpicklable(batch):
    return default_collate(batch), lambda: None


@pytest.mark.parametrize("collate_fn, exc", [(collate_then_fail, ValueError),
                                             (collate_unpicklable, Exception)])
def test_failed_batches_leave_no_shared_memory(collate_fn, exc):
    it = iter(DataLoader(Big(4), batch_size=2, num_workers=NW, collate_fn=collate_fn))
    for _ in range(2):                  # both batches fail; each worker answered once
        with pytest.raises(exc):
            next(it)
    assert _shm_files() == []           # removed by the workers, not by the shutdown
    del it


class TaggedRows(Tagged):
    """Rows of a tensor, with the worker's tag."""

    def __init__(self, x):
        super().__init__(len(x))
        self.x = x

    def __getitem__(self, i):
        return self.x[i], self.tag


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_other_start_methods(method):
    # everything (dataset, tensors, worker_init_fn) is pickled to the workers
    x = ember.arange(12.).reshape(6, 2)
    out = list(DataLoader(TaggedRows(x), batch_size=4, num_workers=NW,
                          multiprocessing_context=method, worker_init_fn=set_tag))
    assert [b[0].shape for b in out] == [(4, 2), (2, 2)]
    assert out[1][0].tolist() == [[8., 9.], [10., 11.]]
    assert [b[1].tolist() for b in out] == [[100] * 4, [101] * 2]


# ------------------------------------------------------------------------------ faults

def test_worker_exception_is_reraised_with_traceback():
    dl = DataLoader(Fails(8, 5, ValueError("bad sample 5")), batch_size=2, num_workers=NW)
    it = iter(dl)
    pids = _worker_pids(it)
    assert next(it).tolist() == [0, 1] and next(it).tolist() == [2, 3]
    with pytest.raises(ValueError) as info:
        next(it)
    msg = str(info.value)
    # batch [4, 5] is the third task, so it went to worker 0
    assert msg.startswith("Caught ValueError in DataLoader worker process 0.\nOriginal "
                          "Traceback (most recent call last):\n")
    assert "in __getitem__" in msg and "ValueError: bad sample 5" in msg
    assert next(it).tolist() == [6, 7]           # the loader goes on, as PyTorch's does
    with pytest.raises(StopIteration):
        next(it)
    _assert_gone(pids)


@pytest.mark.parametrize("exc, raised, text", [
    (KeyError("missing"), KeyError, "KeyError: 'missing'"),
    (TwoArgError(1, 2), RuntimeError, "Caught TwoArgError"),
])
def test_worker_exception_types(exc, raised, text):
    with pytest.raises(raised) as info:
        list(DataLoader(Fails(4, 1, exc), batch_size=None, num_workers=NW))
    assert text in str(info.value)
    if raised is KeyError:
        assert "\n" in repr(info.value.args[0])   # the traceback stays readable


def test_stop_iteration_in_map_dataset_ends_the_epoch_as_without_workers():
    # (PyTorch's behaviour: the re-raised StopIteration ends the loop)
    single = list(DataLoader(Fails(6, 2, StopIteration()), batch_size=None))
    assert single == [0, 1]
    assert list(DataLoader(Fails(6, 2, StopIteration()), batch_size=None,
                           num_workers=NW)) == single


def test_worker_exception_of_unimportable_type():
    class LocalError(Exception):
        pass

    with pytest.raises(RuntimeError, match="Caught LocalError in DataLoader worker process"):
        list(DataLoader(Fails(4, 0, LocalError("x")), batch_size=None, num_workers=NW,
                        multiprocessing_context="fork"))


def test_worker_init_fn_error():
    def bad_init(worker_id):
        raise OSError(f"cannot open shard {worker_id}")

    with pytest.raises(OSError, match="cannot open shard 0"):
        list(DataLoader(Range(4), num_workers=NW, worker_init_fn=bad_init,
                        multiprocessing_context="fork"))


class BrokenStream(IterableDataset):
    def __iter__(self):
        raise OSError("cannot open the stream")


def test_iterable_dataset_iter_error():
    with pytest.raises(OSError, match="Caught OSError in DataLoader worker process 0"):
        list(DataLoader(BrokenStream(), num_workers=NW))


def test_unpicklable_batch_is_an_error_not_a_hang():
    def with_lambda(batch):
        return lambda: batch

    with pytest.raises(Exception, match="Caught .* in DataLoader worker process 0"):
        list(DataLoader(Range(4), batch_size=2, num_workers=NW, collate_fn=with_lambda,
                        multiprocessing_context="fork", timeout=20))


def test_worker_killed_inside_getitem():
    it = iter(DataLoader(KillSelf(8), batch_size=2, num_workers=NW))
    pids = _worker_pids(it)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) (\d+)\) exited "
                                           r"unexpectedly") as info:
        list(it)
    assert time.monotonic() - start < 10
    assert str(pids[1]) in str(info.value)             # batch [2, 3] went to worker 1
    assert "SIGKILL" in str(info.value)
    _assert_gone(pids)                                 # the survivor was shut down too


def test_worker_killed_from_outside():
    it = iter(DataLoader(Pid(40), batch_size=None, num_workers=NW))
    pids = _worker_pids(it)
    _, pid = next(it)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=f"DataLoader worker \\(pid\\(s\\) {pid}\\) exited "
                                           "unexpectedly"):
        for _ in it:
            pass
    _assert_gone(pids)


def test_timeout():
    dl = DataLoader(Sleepy(4, {0: 1.5, 1: 1.5}), batch_size=None, num_workers=NW,
                    timeout=0.3)
    it = iter(dl)
    pids = _worker_pids(it)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        next(it)
    del it
    _assert_gone(pids)


# ------------------------------------------------------------------------------ shutdown

def _break_loop(dl):
    for _ in dl:
        break


def _del_iterator(dl):
    it = iter(dl)
    next(it)
    del it


def _exception_in_loop(dl):
    with pytest.raises(ZeroDivisionError):
        for _ in dl:
            _ = 1 / 0


def _keyboard_interrupt(dl):
    with pytest.raises(KeyboardInterrupt):
        for _ in dl:
            raise KeyboardInterrupt


def _garbage_collected(dl):
    it = iter(dl)
    next(it)
    it.cycle = it                       # only the cycle collector can free it now
    del it
    gc.collect()


def _exhausted(dl):
    assert len(list(dl)) == 20


@pytest.mark.parametrize("stop", [_break_loop, _del_iterator, _exception_in_loop,
                                  _keyboard_interrupt, _garbage_collected, _exhausted])
def test_no_orphans_after_shutdown(stop, monkeypatch):
    seen = []
    real_start = multiprocessing.process.BaseProcess.start

    def recording_start(self):
        real_start(self)
        seen.append(self)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", recording_start)
    dl = DataLoader(Big(20), batch_size=None, num_workers=NW)
    stop(dl)
    assert len(seen) == NW
    _assert_gone([p.pid for p in seen])     # shutdown joined the workers: no waiting
    assert [p.exitcode for p in seen] == [0] * NW          # they exited, not terminated
    assert _shm_files() == []


def test_workers_exit_when_the_main_process_dies():
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = (
        "import os, sys, time\n"
        f"sys.path.insert(0, {tests_dir!r})\n"
        "from ember.utils.data import DataLoader\n"
        "from data.test_dataloader_workers import Pid\n"
        "it = iter(DataLoader(Pid(1000), batch_size=None, num_workers=2))\n"
        "pids = {next(it)[1] for _ in range(4)}\n"
        "print(' '.join(map(str, sorted(pids))), flush=True)\n"
        "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        proc.kill()
        proc.wait()
        _assert_gone(pids, wait=10)
    finally:
        proc.kill()
        proc.stdout.close()
    leftovers = [n for n in os.listdir(transfer.SHM_DIR) if n.startswith(f"ember_dl_{proc.pid}_")]
    assert leftovers == []
