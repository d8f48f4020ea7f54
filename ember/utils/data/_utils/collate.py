"""Collation: :func:`default_collate` merges a list of samples into a batch, and
:func:`default_convert` turns NumPy data into tensors without batching.

Both walk nested structures: mappings, namedtuples, tuples and other sequences are rebuilt
with their leaves converted or batched. Leaves are handled by type through
``collate_fn_map`` (see :func:`collate`), so a custom collate function can extend the
default one for its own types.
"""
from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable

import numpy as np

from ...._dtype import float64
from ...._tensor import Tensor, _wrap
from ....ops.creation import as_tensor, tensor
from ....ops.shape import stack
from . import transfer

__all__ = [
    "collate",
    "collate_float_fn",
    "collate_int_fn",
    "collate_numpy_array_fn",
    "collate_numpy_scalar_fn",
    "collate_str_fn",
    "collate_tensor_fn",
    "default_collate",
    "default_collate_fn_map",
    "default_convert",
]

# NumPy dtypes that have no tensor equivalent: byte strings, unicode, objects
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
    "found {}")


def _rebuild_mapping(data, values: dict):
    """A mapping of ``data``'s type with new values: mutable mappings are shallow-copied
    (keeping their attributes, e.g. an OrderedDict subclass's), others rebuilt from a dict;
    a type that cannot be rebuilt that way becomes a plain dict."""
    try:
        if isinstance(data, collections.abc.MutableMapping):
            clone = copy.copy(data)
            clone.update(values)
            return clone
        return type(data)(values)
    except TypeError:
        return values


def _rebuild_sequence(data, values: list):
    """Like :func:`_rebuild_mapping`, for sequences (a plain list as the fallback)."""
    try:
        if isinstance(data, collections.abc.MutableSequence):
            clone = copy.copy(data)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(data)(values)
    except TypeError:
        return values


def default_convert(data):
    """Convert NumPy arrays and scalars in ``data`` to tensors, recursing into mappings,
    namedtuples and sequences (a plain tuple becomes a list, as in PyTorch). Tensors and
    everything else (strings, NumPy string/object arrays) are returned unchanged. This is
    the DataLoader's ``collate_fn`` when automatic batching is off (``batch_size=None``)."""
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_",
                                                                       "bytes_"):
        if elem_type.__name__ == "ndarray" and \
                np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: default_convert(data[k]) for k in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):          # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def collate(batch, *, collate_fn_map: dict[type | tuple[type, ...], Callable] | None = None):
    """Merge a list of samples into a batch, recursing into containers.

    The first sample decides how: if its type (exactly, else by ``isinstance`` in the map's
    order) is in ``collate_fn_map``, that function is called as
    ``fn(batch, collate_fn_map=collate_fn_map)``. Otherwise mappings are collated per key,
    namedtuples per field, and sequences per position (every sample must have the same
    length; tuples give a list). Anything else raises TypeError.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type, fn in collate_fn_map.items():
            if isinstance(elem, collate_type):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {k: collate([d[k] for d in batch],
                                                  collate_fn_map=collate_fn_map)
                                       for k in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):           # namedtuple
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        # each column is a tuple (so strings nested in sequences collate to a tuple, as in
        # PyTorch, while a top-level batch of strings stays the list it came in)
        columns = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        return _rebuild_sequence(elem, columns)
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map=None):
    """Stack tensors along a new first dimension (``ember.stack``: equal shapes required,
    dtypes promoted). In a DataLoader worker a large result is written straight into
    shared memory, so that sending it to the main process needs no further copy."""
    elem = batch[0]
    shape, dt = elem._data.shape, elem._data.dtype
    uniform = all(isinstance(t, Tensor) and t._data.shape == shape and t._data.dtype == dt
                  and not t._requires_grad for t in batch)
    if uniform:
        out = transfer.empty_shared((len(batch),) + shape, dt)
        if out is not None:
            np.stack([t._data for t in batch], out=out)
            return _wrap(out)
    return stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    """Arrays become tensors, then are stacked; string and object arrays are refused."""
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    """NumPy scalars become a 1-D tensor of their dtype."""
    return as_tensor(batch)


def collate_float_fn(batch, *, collate_fn_map=None):
    """Python floats become a float64 tensor (not the default dtype: floats are doubles)."""
    return tensor(batch, dtype=float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    """Python ints become an int64 tensor (bools a bool tensor)."""
    return tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    """Strings and bytes stay a list."""
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """The DataLoader's default ``collate_fn``: merge a list of samples into a batch.

    Leaves are batched by type: tensors are stacked along a new first dimension, NumPy
    arrays become stacked tensors, NumPy scalars a tensor of their dtype, Python floats a
    float64 tensor, ints an int64 tensor, strings and bytes stay a list. Mappings,
    namedtuples and sequences are collated element-wise and keep their type (a tuple of
    fields gives a list, as in PyTorch).

    Example::

        >>> default_collate([(0, 'a', 1.5), (1, 'b', 2.5)])
        [tensor([0, 1]), ['a', 'b'], tensor([1.5000, 2.5000], dtype=ember.float64)]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
