"""Variable-length sequences (PyTorch's ``torch.nn.utils.rnn``): padding, packing and the
``PackedSequence`` the recurrent layers accept.

A packed sequence stores the time steps of a batch one after the other, each holding only
the sequences still running: ``data`` is ``(sum(lengths), *)`` and ``batch_sizes[t]`` the
number of rows of step ``t`` (non-increasing). The batch is sorted by decreasing length;
``sorted_indices``/``unsorted_indices`` map between that order and the caller's.

Packing and unpadding are gathers, padding is a scatter: each is one graph node whose
backward is the other (``_Pack``/``_Pad``), so gradients flow through them to any order.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ..._tensor import Tensor, _wrap
from ...ops._op import Op

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def _bind(optional, fn):
    return None if optional is None else fn(optional)


class PackedSequence(PackedSequence_):
    """The data and batch sizes of a packed batch of variable-length sequences.

    Build one with ``pack_padded_sequence`` or ``pack_sequence``, not by hand. Fields:
    ``data`` (``(sum(lengths), *)``), ``batch_sizes`` (int64, rows per time step),
    ``sorted_indices`` (how the batch was reordered by decreasing length, or None) and
    ``unsorted_indices`` (its inverse).
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """``data.to(*args, **kwargs)``; the indices follow the data's device. Returns
        ``self`` when the data does not change."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        def move(t):
            return t.to(data.device)
        return type(self)(data, self.batch_sizes, _bind(self.sorted_indices, move),
                          _bind(self.unsorted_indices, move))

    def cuda(self, *args, **kwargs):
        return type(self)(self.data.cuda(*args, **kwargs), self.batch_sizes,
                          self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args, **kwargs):
        return self.to("cpu")

    def pin_memory(self):
        return type(self)(self.data.pin_memory(), self.batch_sizes, self.sorted_indices,
                          self.unsorted_indices)

    def double(self):
        from ... import float64
        return self.to(dtype=float64)

    def float(self):
        from ... import float32
        return self.to(dtype=float32)

    def half(self):
        from ... import float16
        return self.to(dtype=float16)

    def long(self):
        from ... import int64
        return self.to(dtype=int64)

    def int(self):
        from ... import int32
        return self.to(dtype=int32)

    def short(self):
        from ... import int16
        return self.to(dtype=int16)

    def char(self):
        from ... import int8
        return self.to(dtype=int8)

    def byte(self):
        from ... import uint8
        return self.to(dtype=uint8)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return self.data.is_pinned()


def invert_permutation(permutation):
    """The inverse of a permutation given as a 1-D index tensor (None stays None)."""
    if permutation is None:
        return None
    p = np.asarray(permutation._data)
    out = np.empty_like(p)
    out[p] = np.arange(p.size, dtype=p.dtype)
    return _wrap(out)


# ---------------------------------------------------------------------------------------
# The gather/scatter pair behind packing and padding

class _Pack(Op):
    """``input[t_idx, b_idx]`` (time-major) or ``input[b_idx, t_idx]`` (batch-first)."""

    def forward(self, x, t_idx, b_idx, batch_first):
        self.shape = x.shape
        self.idx = (t_idx, b_idx, batch_first)
        return x[b_idx, t_idx] if batch_first else x[t_idx, b_idx]

    def backward(self, grad):
        t_idx, b_idx, batch_first = self.idx
        return _Pad.apply(grad, t_idx=t_idx, b_idx=b_idx, batch_first=batch_first,
                          shape=self.shape, padding_value=0)

    def name(self):
        return "PackPaddedSequenceBackward0"


class _Pad(Op):
    """A ``shape`` array of ``padding_value`` with the rows of ``data`` written at
    ``[t_idx, b_idx]`` (or ``[b_idx, t_idx]``)."""

    def forward(self, data, t_idx, b_idx, batch_first, shape, padding_value):
        self.idx = (t_idx, b_idx, batch_first)
        out = np.full(shape, padding_value, dtype=data.dtype)
        if batch_first:
            out[b_idx, t_idx] = data
        else:
            out[t_idx, b_idx] = data
        return out

    def backward(self, grad):
        t_idx, b_idx, batch_first = self.idx
        return _Pack.apply(grad, t_idx=t_idx, b_idx=b_idx, batch_first=batch_first)

    def name(self):
        return "PadPackedSequenceBackward0"


def _packed_positions(batch_sizes, perm=None):
    """For each row of packed data: its time step and its batch column (in the caller's
    order when ``perm`` maps sorted positions to the caller's columns)."""
    bs = np.asarray(batch_sizes, dtype=np.int64)
    t_idx = np.repeat(np.arange(bs.size), bs)
    starts = np.cumsum(bs) - bs
    b_idx = np.arange(t_idx.size) - np.repeat(starts, bs)
    if perm is not None:
        b_idx = perm[b_idx]
    return t_idx, b_idx


def _lengths_array(lengths):
    if isinstance(lengths, Tensor):
        arr = lengths._data
        if arr.ndim != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{arr.ndim}D cpu {lengths.dtype._legacy[:-6]} tensor")
        return arr.astype(np.int64)
    arr = np.asarray(lengths, dtype=np.int64)
    if arr.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{arr.ndim}D cpu Long tensor")
    return arr


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch of variable-length sequences.

    Args:
        input (Tensor): ``(T, B, *)``, or ``(B, T, *)`` if ``batch_first``.
        lengths (Tensor or list of int): the length of each sequence (all > 0).
        batch_first (bool): layout of ``input``. Default: False.
        enforce_sorted (bool): if True, ``lengths`` must be non-increasing; if False the
            batch is sorted here and the order kept in ``sorted_indices``. Default: True.

    Returns:
        a ``PackedSequence``; rows past each sequence's length are dropped.
    """
    lengths = _lengths_array(lengths)
    if input._data.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[-{max(input._data.ndim, 1)}, {max(input._data.ndim, 1) - 1}], but "
                         f"got 1)")
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = order
    if input._data.size == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    batch_dim, time_dim = (0, 1) if batch_first else (1, 0)
    batch, steps = input._data.shape[batch_dim], input._data.shape[time_dim]
    if lengths.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.size} (batch_size={batch})")
    if lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if np.any(lengths[1:] > lengths[:-1]):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                           "pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    if lengths[0] > steps:
        # (PyTorch reads past the end of the input here; ember refuses)
        raise RuntimeError(f"pack_padded_sequence: a sequence length ({int(lengths[0])}) is "
                           f"larger than the padded length of the input ({steps})")
    batch_sizes = (lengths[None, :] > np.arange(lengths[0])[:, None]).sum(1)
    t_idx, b_idx = _packed_positions(batch_sizes, sorted_indices)
    data = _Pack.apply(input, t_idx=t_idx, b_idx=b_idx, batch_first=batch_first)
    return PackedSequence(data, _wrap(batch_sizes.astype(np.int64)),
                          _bind(sorted_indices, _wrap), None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Pad a packed batch back to ``(T, B, *)`` (or ``(B, T, *)``), in the caller's
    original batch order. The inverse of ``pack_padded_sequence``.

    Args:
        sequence (PackedSequence): the batch to pad.
        batch_first (bool): output layout. Default: False.
        padding_value (float): value of the padded positions. Default: 0.
        total_length (int, optional): pad to this many steps (at least the longest
            sequence's length).

    Returns:
        ``(padded, lengths)`` with ``lengths`` an int64 tensor.
    """
    bs = np.asarray(sequence.batch_sizes._data, dtype=np.int64)
    max_seq_length = int(bs.size)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_seq_length}")
        max_seq_length = total_length
    batch = int(bs[0]) if bs.size else 0
    lengths = (bs[None, :] > np.arange(batch)[:, None]).sum(1)
    unsorted = sequence.unsorted_indices
    perm = None
    if unsorted is not None:
        perm = invert_permutation(unsorted)._data
        lengths = lengths[unsorted._data]
    t_idx, b_idx = _packed_positions(bs, perm)
    data = sequence.data
    trailing = data._data.shape[1:]
    shape = ((batch, max_seq_length) if batch_first else (max_seq_length, batch)) + trailing
    padded = _Pad.apply(data, t_idx=t_idx, b_idx=b_idx, batch_first=batch_first, shape=shape,
                        padding_value=padding_value)
    return padded, _wrap(lengths.astype(np.int64))


# ---------------------------------------------------------------------------------------
# pad_sequence

class _PadSequence(Op):
    """Stack sequences of different lengths into one padded array."""

    def forward(self, *seqs, shape, batch_first, padding_value, left):
        out = np.full(shape, padding_value, dtype=seqs[0].dtype)
        steps = shape[1] if batch_first else shape[0]
        self.spans = []
        for i, s in enumerate(seqs):
            n = s.shape[0] if s.ndim else 1
            span = slice(steps - n, steps) if left else slice(0, n)
            self.spans.append(span)
            if batch_first:
                out[i, span] = s
            else:
                out[span, i] = s
        self.batch_first = batch_first
        return out

    def backward(self, grad):
        bf = self.batch_first
        return tuple((grad[i, span] if bf else grad[span, i]) if need else None
                     for i, (span, need) in enumerate(zip(self.spans, self.needs_input_grad)))

    def name(self):
        return "CopySlices"


def _broadcast_error(dst, src):
    """PyTorch's copy_ error when ``src`` does not broadcast to ``dst`` (or None)."""
    n = max(len(dst), len(src))
    d, s = (1,) * (n - len(dst)) + tuple(dst), (1,) * (n - len(src)) + tuple(src)
    for k in range(n - 1, -1, -1):
        if d[k] != s[k] and d[k] != 1 and s[k] != 1:
            return RuntimeError(f"The size of tensor a ({d[k]}) must match the size of tensor b "
                                f"({s[k]}) at non-singleton dimension {k}")
    full = [max(a, b) for a, b in zip(d, s)]
    if len(src) > len(dst) or full != list(d):
        return RuntimeError(f"output with shape {list(dst)} doesn't match the broadcast "
                            f"shape {full}")
    return None


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Pad a list of variable-length sequences (each ``(L_i, *)``) to a common length and
    stack them.

    Args:
        sequences (list of Tensor): the sequences; the trailing dimensions and dtype of
            the result are those of the first.
        batch_first (bool): output ``(B, T, *)`` if True, else ``(T, B, *)``.
        padding_value (float): value of the padded positions. Default: 0.
        padding_side (str): ``'right'`` (default) or ``'left'``.
    """
    if not isinstance(sequences, Iterable):
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence(): argument 'sequences' (position 1) must be tuple "
                            f"of Tensors, not {type(s).__name__}")
        if s._data.ndim == 0:
            raise RuntimeError(f"pad_sequence: expected every sequence to have at least one "
                               f"dimension, but sequence {i} is 0-dimensional")
    steps = max(s._data.shape[0] for s in sequences)
    trailing = sequences[0]._data.shape[1:]
    for s in sequences:
        err = _broadcast_error((s._data.shape[0],) + trailing, s._data.shape)
        if err is not None:
            raise err
    batch = len(sequences)
    shape = ((batch, steps) if batch_first else (steps, batch)) + trailing
    return _PadSequence.apply(*sequences, shape=shape, batch_first=batch_first,
                              padding_value=padding_value, left=padding_side == "left")


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of sequences of the given lengths.

    (PyTorch transposes a time-major ``padded_sequences`` in place as a side effect; ember
    leaves it unchanged.)
    """
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    lens = lengths._data if isinstance(lengths, Tensor) else np.asarray(lengths)
    return [seq[:int(n)].clone() for seq, n in zip(x, lens, strict=True)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of variable-length sequences (``pad_sequence`` then
    ``pack_padded_sequence``)."""
    lengths = [v.size(0) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences in a ``PackedSequence`` (in the caller's original order)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
