"""Moving batches from worker processes to the main process.

A worker pickles each batch with pickle protocol 5, which hands the data of contiguous
arrays to a callback ("out of band") instead of copying it into the pickle. Buffers smaller
than :data:`SHM_THRESHOLD` bytes are pickled in place; larger ones travel through shared
memory: files in ``/dev/shm`` (tmpfs, so RAM-backed) that the worker fills and the main
process maps, unlinks at once and wraps without copying. When the worker collates, the
stacked batch is written straight into such a block (:func:`empty_shared`), so a large
batch is never copied after it is built. Only the small pickle goes through the result
queue.

Why the threshold: for small buffers the fixed cost of a block (create, size and map a
file; open, map and unlink it on the other side) is more than copying the bytes through
the queue's pipe; for large ones the pipe's copies dominate (the queue pickles the data,
writes it through a 64 KiB pipe buffer, reads it and unpickles it); see
:data:`SHM_THRESHOLD` for the measurement.

Block lifetime: a worker names its blocks ``<iterator prefix>w<id>_<n>``. The main process
unlinks a block as soon as it maps it; a block that never reaches the main process (a batch
dropped at shutdown, a worker killed mid-send) is removed by name prefix when the loader
shuts its workers down, and a worker whose main process died removes its own.

Without a writable ``/dev/shm`` (not Linux) everything is pickled through the queue.
"""
from __future__ import annotations

import errno
import io
import mmap
import os
import pickle

import numpy as np

SHM_DIR = "/dev/shm"

SHM_THRESHOLD: int | None = 512 << 10
"""Buffers of at least this many bytes go through shared memory (None: never). Measured with
two workers sending float32 batches of one tensor to the main process, which sums each one
(ms per batch, pickled through the queue vs shared memory, on a loaded 2-core VM):

    batch     64 KiB  256 KiB  512 KiB  1 MiB  4 MiB  16 MiB  64 MiB
    queue     0.33    0.47     1.35     3.7    22     67      354
    shm       0.55    1.0      0.89     2.8    8.5    33      77

Below ~512 KiB a block's fixed cost (creating, sizing and mapping a file, then opening,
mapping and unlinking it, and the page faults on fresh pages) loses to the pipe; above it
the pipe's copies lose, by 2x from 4 MiB and 4-5x at 64 MiB. The loader reads this value
when it starts its workers."""

_ALIGN = 64          # byte alignment of buffers packed into one block


# ---------------------------------------------------------------------------------------
# worker side

class _Block:
    """One shared-memory file mapped in this worker."""

    __slots__ = ("addr", "mm", "name", "sent", "size")

    def __init__(self, name, mm, size):
        self.name, self.mm, self.size, self.sent = name, mm, size, False
        self.addr = _address(memoryview(mm)) if size else 0


class _WorkerState:
    def __init__(self):
        self.prefix: str | None = None     # None: shared memory is off (the main process)
        self.threshold: int | None = None
        self.counter = 0
        self.pending: list = []            # blocks made for the batch being built


_state = _WorkerState()


def start_worker(prefix: str | None, threshold: int | None) -> None:
    """Turn shared memory on in this (worker) process, naming blocks ``prefix<n>``."""
    usable = prefix is not None and threshold is not None and os.path.isdir(SHM_DIR) and \
        os.access(SHM_DIR, os.W_OK)
    _state.prefix = prefix if usable else None
    _state.threshold = threshold
    _state.pending = []


def _address(view: memoryview) -> int:
    return np.frombuffer(view, dtype=np.uint8).__array_interface__["data"][0]


def _new_block(nbytes: int) -> _Block | None:
    """A fresh block of ``nbytes``, or None if /dev/shm cannot hold it."""
    _state.counter += 1
    name = f"{_state.prefix}{_state.counter}"
    path = os.path.join(SHM_DIR, name)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return None
    try:
        try:
            # reserve the pages now: a full /dev/shm is then ENOSPC here, which we can fall
            # back from, rather than SIGBUS when the array is written
            os.posix_fallocate(fd, 0, nbytes)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
            os.ftruncate(fd, nbytes)
        mm = mmap.mmap(fd, nbytes)
    except OSError:
        os.close(fd)
        os.unlink(path)
        return None
    os.close(fd)
    return _Block(name, mm, nbytes)


def empty_shared(shape, dtype) -> np.ndarray | None:
    """An uninitialised array in a new shared-memory block, for a batch that is about to
    be sent to the main process; None in the main process, for small arrays, or when no
    block can be made (the caller then allocates normally)."""
    if _state.prefix is None:
        return None
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * dtype.itemsize
    if nbytes < max(_state.threshold, 1) or dtype.hasobject:
        return None
    blk = _new_block(nbytes)
    if blk is None:
        return None
    _state.pending.append(blk)
    return np.frombuffer(blk.mm, dtype=dtype, count=count).reshape(shape)


def _reduce_ndarray(a: np.ndarray):
    # numpy pickles a non-contiguous array by copying it into the pickle; a contiguous copy
    # goes out of band instead, like every other large array
    if not (a.flags.c_contiguous or a.flags.f_contiguous) and a.nbytes >= _state.threshold \
            and not a.dtype.hasobject:
        a = np.ascontiguousarray(a)
    return a.__reduce_ex__(5)


class Message:
    """A packed batch: the pickle, and for each out-of-band buffer either its bytes or the
    ``(block name, offset, nbytes)`` where it lies in shared memory."""

    __slots__ = ("buffers", "payload")

    def __init__(self, payload, buffers):
        self.payload, self.buffers = payload, buffers

    def __reduce__(self):
        return (Message, (self.payload, self.buffers))


def pack(obj) -> Message:
    """Pickle ``obj`` for the trip to the main process, moving large buffers into shared
    memory (buffers already in a block made by :func:`empty_shared` are referenced, not
    copied). Blocks made for this batch but not part of it are removed."""
    buffers, to_copy = [], []

    def out_of_band(pb: pickle.PickleBuffer):
        view = pb.raw()
        if _state.prefix is None or view.nbytes < max(_state.threshold, 1):
            return True                                       # keep it in the pickle
        addr = _address(view)
        for blk in _state.pending:
            if blk.addr <= addr and addr + view.nbytes <= blk.addr + blk.size:
                blk.sent = True
                buffers.append((blk.name, addr - blk.addr, view.nbytes))
                return False
        to_copy.append((len(buffers), view))
        buffers.append(None)
        return False

    done = False
    try:
        f = io.BytesIO()
        p = pickle.Pickler(f, protocol=5, buffer_callback=out_of_band)
        if _state.prefix is not None:
            p.dispatch_table = {np.ndarray: _reduce_ndarray}
        p.dump(obj)
        if to_copy:
            _copy_into_block(buffers, to_copy)
        msg = Message(f.getvalue(), buffers)
        done = True
        return msg
    finally:
        # a block goes to the main process only with a complete message
        _drop_pending(keep_sent=done)


def _drop_pending(keep_sent: bool = False) -> None:
    for blk in _state.pending:
        if not (keep_sent and blk.sent):
            _unlink(blk.name)
    _state.pending = []


def discard_pending() -> None:
    """Remove the blocks made for a batch that failed before it was packed."""
    _drop_pending()


def _copy_into_block(buffers: list, to_copy: list) -> None:
    """Copy the large buffers that are not in shared memory yet into one new block (or, if
    none can be made, send their bytes with the pickle)."""
    offsets, total = [], 0
    for _, view in to_copy:
        offsets.append(total)
        total += -(-view.nbytes // _ALIGN) * _ALIGN
    blk = _new_block(total)
    if blk is None:
        for i, view in to_copy:
            buffers[i] = bytearray(view)            # writable on the other side
        return
    dst = np.frombuffer(blk.mm, dtype=np.uint8)
    for (i, view), off in zip(to_copy, offsets):
        dst[off:off + view.nbytes] = np.frombuffer(view, dtype=np.uint8)
        buffers[i] = (blk.name, off, view.nbytes)
    blk.sent = True
    _state.pending.append(blk)


def _unlink(name: str) -> None:
    try:
        os.unlink(os.path.join(SHM_DIR, name))
    except OSError:
        pass


# ---------------------------------------------------------------------------------------
# main-process side

def _attach(name: str) -> mmap.mmap:
    path = os.path.join(SHM_DIR, name)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        raise RuntimeError(f"DataLoader: the shared memory block {path} holding a batch has "
                           f"disappeared (removed by another process?)") from None
    try:
        mm = mmap.mmap(fd, 0)
    finally:
        os.close(fd)
    # the mapping keeps the memory alive: unlinking now means nothing is left behind
    os.unlink(path)
    return mm


def unpack(msg: Message):
    """Rebuild a batch from :func:`pack`'s message. Arrays in shared memory are wrapped, not
    copied (writable; the memory is freed when the last of them goes)."""
    maps, views = {}, []
    try:
        for spec in msg.buffers:
            if isinstance(spec, tuple):
                name, off, n = spec
                if name not in maps:
                    maps[name] = _attach(name)
                views.append(memoryview(maps[name])[off:off + n])
            else:
                views.append(spec)
    except BaseException:
        discard(msg)
        raise
    return pickle.loads(msg.payload, buffers=views)


def discard(msg) -> None:
    """Remove the shared memory of a message that will not be unpacked."""
    if isinstance(msg, Message):
        for spec in msg.buffers:
            if isinstance(spec, tuple):
                _unlink(spec[0])


def cleanup_prefix(prefix: str | None) -> None:
    """Remove every block whose name starts with ``prefix`` (blocks whose batch was never
    received)."""
    if not prefix:
        return
    try:
        names = os.listdir(SHM_DIR)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix):
            _unlink(name)
