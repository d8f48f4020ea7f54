"""Converters for ``x[index]`` (``ember/ops/index.py``: ``GetItem`` and its ``narrow`` /
``select`` forms) and the indexing ops of ``ember/ops/indexing.py``.

The mapping, ember op -> ONNX:

================  ==============================================================================
GetItem, basic    ints, slices (any step), None and Ellipsis: one Slice over every sliced axis,
                  a Squeeze of the integer-indexed axes, an Unsqueeze for the Nones. Slices need
                  no sizes (ONNX counts negative bounds from the end), so they follow dynamic
                  axes; a bound that was computed from a dynamic size (``x[:x.size(0) - 1]``)
                  is recognised from the two traces and written relative to the end, or from
                  ``ctx.dim``; one that cannot be is refused.
GetItem, advanced integer arrays and index tensors (after the basic part, as NumPy applies
                  them): one is a Gather on its axis; several are broadcast and stacked into one
                  index for a GatherND over the indexed axes moved to the front, with the
                  result's broadcast dims moved back where NumPy puts them (in place when the
                  indexed axes are adjacent in the index, first otherwise). Index tensors the
                  model computes or receives are graph tensors (cast to int64; several of
                  different or dynamic shapes broadcast at run time with Add + Shape + Expand).
                  A constant boolean mask becomes the integer arrays of its True positions; a
                  mask computed from the inputs would give a data-dependent shape and is
                  refused (ember.ops.index refuses it while tracing, naming the line).
IndexSelect       Gather(axis=dim) (a 0-d index reshaped to 1-d: the dimension stays).
Gather            (gather, take_along_dim) GatherElements(axis=dim).
Take              Gather of the input reshaped to 1-d (negative indices count from the end in
                  both; a flat index is the same element whatever the sizes).
TakeFlat          (reads at constant flat positions) GatherElements when the positions are
                  those of a gather along one dim (recovered from them), else Reshape + Gather.
Scatter           ScatterElements (``reduce='add'/'multiply'``: reduction ``add``/``mul``, opset
                  16+); ScatterReduce: ``sum``/``prod`` (16+), ``amax``/``amin`` (18+), with
                  ``include_self=True`` only (ONNX always includes the destination).
ScatterAdd,       ScatterElements with reduction ``add`` into ConstantOfShape zeros (opset 16+;
ScatterAddFlat,   below, only when no position repeats).
IndexAddZeros
IndexCopy         ScatterElements(axis=dim) with the index expanded over the source.
IndexPut, Put,    ScatterElements on the flattened tensor at the flat positions the index
MaskedScatter     selects (static shapes).
MaskedFill        Where(mask, value, x); the constant mask is shrunk to size 1 along the axes
                  where it does not vary, so it broadcasts over dynamic axes.
MaskedSelect      Gather of the flat positions of the (constant) mask.
================  ==============================================================================

Index tensors and masks: ``x[index]``, ``gather``, ``take``, ``scatter``, ``scatter_add``,
``index_select`` and ``masked_fill`` pass their index or mask to the op as an input, so one
the model computes (or receives) stays a tensor of the graph. For ``x[index]`` the inputs
after ``x`` are the index tensors and the ``index`` parameter is a template holding a
placeholder (``ember.ops.index._Slot``) where each goes; ``_getitem_items`` puts them back,
a constant one as its array (so constant indices export exactly as lists do). The others
(``index_copy``, ``index_put``, ``put``, ``masked_scatter``, ``x[index] = v``, ...) read
the index as an array when called, so in the graph it is a constant: those ops refuse a
traced one while exporting, and a constant index whose size changed between the two traces
is refused here.
"""
from __future__ import annotations

import numpy as np

from ...ops.index import GetItem, _Slot
from ...ops.indexing import (
    Gather,
    IndexAddZeros,
    IndexCopy,
    IndexPut,
    IndexSelect,
    MaskedFill,
    MaskedScatter,
    MaskedSelect,
    Put,
    Scatter,
    ScatterAdd,
    ScatterAddFlat,
    ScatterReduce,
    Take,
    TakeFlat,
    _c_strides,
    _positions_along,
)
from .._registry import converter
from .._trace import Value
from .shape import (
    INT64_MAX,
    INT64_MIN,
    const,
    emit_slice,
    finish,
    refuse,
    scalar,
    scatter_flat,
    shape_b,
    where,
    zeros,
)


def _param(node, name):
    """Keyword parameter ``name`` of the node as recorded (a traced ``Value`` when the model
    computed it), else the attribute the op's forward stored."""
    if name in node.params:
        return node.params[name]
    return getattr(node.op, name)


def _is_array(item) -> bool:
    return isinstance(item, (np.ndarray, Value))


def _is_mask(item) -> bool:
    """A boolean mask (uint8 counts as one, as in ``x[index]``)."""
    return item.dtype == np.bool_ or item.dtype == np.uint8


def _index_name(ctx, item, dtype=np.int64) -> str:
    """The ONNX name of an index: a constant for an array, the (cast) graph value for a
    traced one."""
    if isinstance(item, Value):
        name = ctx.name(item)
        return name if item.dtype == dtype else ctx.cast(name, dtype)
    arr = np.asarray(item, dtype=dtype)
    return const(ctx, arr)


# ---------------------------------------------------------------------------------------
# x[index]

def _consumed(item) -> int:
    """How many dimensions of the indexed tensor ``item`` uses up."""
    if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)):
        return 0
    if _is_array(item) and _is_mask(item):
        return len(item.shape)
    return 1


def _expand_ellipsis(items, rank):
    used = sum(_consumed(i) for i in items)
    out = []
    for i in items:
        if i is Ellipsis:
            out.extend([slice(None)] * (rank - used))
            used = rank                  # a second Ellipsis (NumPy refuses it) adds nothing
        else:
            out.append(i)
    return out


def _slice_bounds(s: slice):
    step = 1 if s.step is None else int(s.step)
    if step > 0:
        start = 0 if s.start is None else int(s.start)
        stop = INT64_MAX if s.stop is None else int(s.stop)
    else:
        start = INT64_MAX if s.start is None else int(s.start)
        stop = INT64_MIN if s.stop is None else int(s.stop)
    return start, stop, step


def _dynamic_slice(ctx, node, x, s: slice, axis, want):
    """Bounds for slice ``s`` on dynamic ``axis`` of ``x`` whose result must have size
    ``want`` = (size in trace A, size in trace B): the literal bounds when they give that,
    else bounds rewritten from the end or from ``ctx.dim``; None when nothing fits."""
    n_a, n_b = x.shape[axis], shape_b(x)[axis]
    start, stop, step = _slice_bounds(s)
    if len(range(*s.indices(n_b))) == want[1]:
        return start, stop, step
    if step < 0:
        return None
    # each bound as given, or counted from the end (x[1:n-1] is x[1:-1])
    a0, a1, _ = s.indices(n_a)
    starts = [start] + ([a0 - n_a] if a0 < n_a else [])
    stops = [stop] + ([a1 - n_a] if a1 < n_a else [INT64_MAX])
    for b0 in starts:
        for b1 in stops:
            if all(len(range(*slice(b0, b1, step).indices(n))) == w
                   for n, w in zip((n_a, n_b), want)):
                return b0, b1, step
    if a0 == 0 and step == 1:                     # x[:f(n)] with f a multiple or fraction
        d = ctx.dim(want[0], want[1], refs=[x])
        if d is not None:
            return 0, d, 1
    return None


def _basic(ctx, node, name, x: Value, items, out_axis=None):
    """Apply the basic part of an index (ints, slices, None; arrays are kept as whole axes).
    ``out_axis`` maps each axis of the result to the node's output axis it becomes (None:
    the same), to check slices of dynamic axes against the output's sizes. Returns the
    result's name."""
    out = node.outputs[0]
    items = _expand_ellipsis(items, len(x.shape))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = pos = 0
    for it in items:
        if it is None:
            unsqueeze.append(pos)
            pos += 1
        elif isinstance(it, slice):
            n = x.shape[axis]
            dynamic = axis in x.dyn
            full = it.indices(n) == (0, n, 1) and (
                not dynamic or it.indices(shape_b(x)[axis]) == (0, shape_b(x)[axis], 1))
            if not full:
                bounds = _slice_bounds(it)
                if dynamic:
                    o = pos if out_axis is None else out_axis[pos]
                    want = out.dyn.get(o, (out.shape[o], out.shape[o]))
                    bounds = _dynamic_slice(ctx, node, x, it, axis, want)
                    if bounds is None:
                        refuse(ctx, node, f"slices dimension {axis}, which follows a dynamic "
                               f"axis, with bounds computed from its size ({it} for size "
                               f"{n}); the graph cannot compute them. Use bounds counted "
                               f"from the end (x[:-1]) or sizes of an input (x.size(0)).")
                starts.append(bounds[0])
                ends.append(bounds[1])
                steps.append(bounds[2])
                axes.append(axis)
            axis += 1
            pos += 1
        elif _is_array(it):
            axis += 1
            pos += 1
        else:                                           # an int: a slice of 1, squeezed
            i = int(it)
            starts.append(i)
            ends.append(i + 1 if i != -1 else INT64_MAX)
            steps.append(1)
            axes.append(axis)
            squeeze.append(axis)
            axis += 1
    y = name
    if axes:
        y = emit_slice(ctx, y, starts, ends, axes, steps)
    if squeeze:
        y = ctx.squeeze(y, squeeze)
    if unsqueeze:
        y = ctx.unsqueeze(y, unsqueeze)
    return y


def _scalar_bool(item) -> bool:
    return isinstance(item, (bool, np.bool_)) or (
        isinstance(item, np.ndarray) and item.dtype == np.bool_ and item.ndim == 0)


def _normalize_advanced(ctx, node, items):
    """The index with boolean masks replaced by the integer arrays of their True positions,
    and ints next to arrays made 0-d arrays (NumPy counts both among the advanced indices)."""
    has_arrays = any(_is_array(i) and not _scalar_bool(i) for i in items)
    norm = []
    for it in items:
        if _scalar_bool(it):
            if has_arrays or not bool(it):
                refuse(ctx, node, "indexes with a boolean scalar (x[True], x[False]) next "
                       "to other tensor indices, which is not supported.")
            norm.append(None)                  # x[True] adds a dimension of size 1
        elif isinstance(it, Value) and _is_mask(it):
            refuse(ctx, node, "indexes with a boolean mask computed from the model's inputs "
                   "(x[mask]): the result's size depends on the data, which the exported "
                   "graph cannot fix ahead of time. Use ember.where(mask, x, other) or "
                   "x.masked_fill(~mask, value) to keep the shape.")
        elif isinstance(it, np.ndarray) and it.dtype == np.bool_:
            norm.extend(np.asarray(a, dtype=np.int64) for a in np.nonzero(it))
        elif isinstance(it, (int, np.integer)) and not isinstance(it, bool) and has_arrays:
            norm.append(np.asarray(int(it), dtype=np.int64))
        else:
            norm.append(it)
    return norm


def _advanced(ctx, node, x: Value, items):
    """``x[items]`` where some items are arrays (NumPy's advanced indexing): the basic part
    first (arrays keep their axes), then one Gather or a GatherND (see the module
    docstring)."""
    norm = _normalize_advanced(ctx, node, items)
    name = ctx.name(x)
    if not any(_is_array(i) for i in norm):
        return _basic(ctx, node, name, x, norm)
    where = [k for k, it in enumerate(norm) if _is_array(it)]
    adjacent = where == list(range(where[0], where[-1] + 1))
    arrays = [norm[k] for k in where]
    # the axes of the basic part's result: one per item (no ints are left), then the rest
    expanded = _expand_ellipsis(norm, len(x.shape))
    kept = [k for k, it in enumerate(expanded) if _is_array(it)]
    nb = len(np.broadcast_shapes(*[tuple(a.shape) for a in arrays]))
    rank = len(node.outputs[0].shape) - nb + len(arrays)      # of the basic part's result
    rest = [i for i in range(rank) if i not in kept]
    first = kept[0]
    front = adjacent and first > 0        # NumPy puts the broadcast dims where the arrays were
    out_axis = {j: (i if front and i < first else i + nb) for i, j in enumerate(rest)}
    _check_constant_index(ctx, node, arrays, list(range(first, first + nb)) if
                          adjacent else list(range(nb)))
    y = _basic(ctx, node, name, x, norm, out_axis)
    if len(arrays) == 1:
        return ctx.emit("Gather", [y, _index_name(ctx, arrays[0])], axis=first)
    if all(isinstance(a, np.ndarray) for a in arrays):
        index = const(ctx, np.stack(np.broadcast_arrays(*arrays), axis=-1).astype(np.int64))
    else:
        index = ctx.emit("Concat", [ctx.unsqueeze(n, [-1])
                                    for n in _broadcast_indices(ctx, arrays)], axis=-1)
    if kept + rest != list(range(rank)):
        y = ctx.emit("Transpose", [y], perm=kept + rest)
    res = ctx.emit("GatherND", [y, index])
    if front:
        perm = [nb + i for i in range(first)] + list(range(nb)) + \
               [nb + i for i in range(first, len(rest))]
        res = ctx.emit("Transpose", [res], perm=perm)
    return res


def _broadcast_indices(ctx, arrays) -> list:
    """The int64 names of index ``arrays`` (graph tensors and constants), broadcast to one
    shape. Equal static shapes need nothing; otherwise the common shape is taken at run time
    from their sum (Add broadcasts both ways) and each is Expanded to it, so index tensors
    whose sizes follow dynamic axes broadcast as they do in ember."""
    names = [_index_name(ctx, a) for a in arrays]
    if len({tuple(a.shape) for a in arrays}) == 1 and \
            not any(isinstance(a, Value) and a.dyn for a in arrays):
        return names
    total = names[0]
    for n in names[1:]:
        total = ctx.emit("Add", [total, n])
    shape = ctx.emit("Shape", [total])
    return [ctx.emit("Expand", [n, shape]) for n in names]


def _check_constant_index(ctx, node, arrays, dims):
    """Constant index arrays give the result's ``dims`` a fixed size; if they changed size
    between the two traces, the index was computed from the inputs (``x[x > 0]``,
    ``x[ember.arange(x.size(0))]``), through NumPy where the trace cannot follow it, and the
    graph would freeze it."""
    out = node.outputs[0]
    if any(isinstance(a, Value) for a in arrays) or not any(d in out.dyn for d in dims):
        return
    refuse(ctx, node, "indexes with a tensor (an integer index or a boolean mask) that was "
           "computed from the model's inputs: its size changes with the input, so the "
           "result's shape depends on the data (a boolean mask), or on sizes the exported "
           "graph would freeze. Use ember.where / masked_fill to keep the shape, or index "
           "with a constant tensor.")


def _index_input(v):
    """An index tensor input of GetItem as an index item: a constant of fixed shape as its
    array (uint8 a mask, other unsigned integers intp, as ``ember.ops.index._fill`` does), a
    traced one (or a constant whose shape follows the dynamic axes) as its ``Value``."""
    if not isinstance(v, Value):
        v = np.asarray(v)
    elif v.const is None or v.dyn:
        return v
    else:
        v = v.const
    if v.dtype == np.uint8:
        return v.astype(bool)
    return v.astype(np.intp) if v.dtype.kind == "u" else v


def _getitem_items(node) -> list:
    """The index of a GetItem node as a list of items, with the index tensors (the node's
    inputs after ``x``) in the places of the template's placeholders."""
    index = _param(node, "index")
    items = list(index) if isinstance(index, tuple) else [index]
    tensors = iter(node.inputs[1:])
    return [_index_input(next(tensors)) if type(i) is _Slot else i for i in items]


@converter(GetItem)
def getitem(ctx, node):
    x = node.inputs[0]
    items = _getitem_items(node)
    if any(_is_array(i) or _scalar_bool(i) for i in items):
        y = _advanced(ctx, node, x, items)
    else:
        y = _basic(ctx, node, ctx.name(x), x, items)
    finish(ctx, node, y)


# ---------------------------------------------------------------------------------------
# index_select, gather, take

def _operand(node, i: int, name: str):
    """Input ``i`` of the node when the op takes it as an input (a traced or constant
    ``Value``), else the keyword parameter or stored attribute ``name``."""
    if len(node.inputs) > i:
        return node.inputs[i]
    return _param(node, name)


def _const_array(item):
    """The data of a constant index (an array, or a constant ``Value`` of fixed shape);
    None for a traced one."""
    if isinstance(item, Value):
        return item.const if item.const is not None and not item.dyn else None
    return np.asarray(item)


@converter(IndexSelect)
def index_select(ctx, node):
    x = node.inputs[0]
    index = _operand(node, 1, "index")
    if len(getattr(index, "shape", ())) == 1:
        idx = _index_name(ctx, index)
    elif isinstance(index, Value):                  # a 0-d index keeps the dimension
        idx = ctx.emit("Reshape", [_index_name(ctx, index), ctx.int64s([-1])])
    else:
        idx = const(ctx, np.asarray(index, dtype=np.int64).reshape(-1))
    if not x.shape:
        flat = ctx.emit("Reshape", [ctx.name(x), ctx.int64s([1])])
        y = ctx.emit("Gather", [flat, idx], axis=0)
        finish(ctx, node, ctx.emit("Reshape", [y, ctx.int64s([])]))
        return
    ctx.emit("Gather", [ctx.name(x), idx], ctx.outputs(node), axis=int(_param(node, "dim")))


@converter(Gather)
def gather(ctx, node):
    """``gather``/``take_along_dim``: GatherElements with the index input."""
    x = node.inputs[0]
    index = _index_name(ctx, node.inputs[1])
    if not x.shape:
        flat = ctx.emit("Reshape", [ctx.name(x), ctx.int64s([1])])
        finish(ctx, node, ctx.emit("Gather", [flat, index], axis=0))
        return
    ctx.emit("GatherElements", [ctx.name(x), index], ctx.outputs(node),
             axis=int(_param(node, "dim")))


@converter(Take)
def take(ctx, node):
    """``take``: Gather of the flattened input (negative indices count from the end in both;
    a flat index means the same element whatever the sizes, so this follows dynamic axes)."""
    flat = ctx.emit("Reshape", [ctx.name(node.inputs[0]), ctx.int64s([-1])])
    ctx.emit("Gather", [flat, _index_name(ctx, node.inputs[1])], ctx.outputs(node), axis=0)


def _dim_and_index(pos: np.ndarray, shape):
    """``(dim, index)`` with ``_positions_along(shape, pos.shape, dim, index) == pos``: the
    gather/scatter that produced the flat positions ``pos`` (None when there is none)."""
    if not shape or pos.ndim != len(shape):
        return None
    strides = _c_strides(shape)
    for d in range(len(shape)):
        if not shape[d]:
            continue
        index = (pos // strides[d]) % shape[d]
        if np.array_equal(_positions_along(shape, pos.shape, d, index), pos):
            return d, index.astype(np.int64)
    return None


def _flat_gather(ctx, node, x: Value, pos: np.ndarray) -> str:
    if x.dyn:
        refuse(ctx, node, "reads elements at flat positions of a tensor whose size follows "
               "a dynamic axis; the positions would change with the size.")
    flat = ctx.emit("Reshape", [ctx.name(x), ctx.int64s([-1])])
    return ctx.emit("Gather", [flat, const(ctx, np.asarray(pos, dtype=np.int64))], axis=0)


@converter(TakeFlat)
def take_flat(ctx, node):
    """Reads at constant flat positions (the gradient of the scatters, ``as_strided``'s
    backward): GatherElements when the positions are those of a gather along one dim, else
    Gather of the flattened (static) input."""
    x = node.inputs[0]
    pos = np.asarray(_param(node, "pos"))
    found = _dim_and_index(pos, x.shape)
    if found is not None:
        d, index = found
        ctx.emit("GatherElements", [ctx.name(x), const(ctx, index)], ctx.outputs(node), axis=d)
        return
    finish(ctx, node, _flat_gather(ctx, node, x, pos))


# ---------------------------------------------------------------------------------------
# scatter family

_REDUCTION = {None: "none", "add": "add", "multiply": "mul", "sum": "add", "prod": "mul",
              "amax": "max", "amin": "min"}


def _reduction(ctx, node, reduce) -> str | None:
    r = _REDUCTION.get(reduce)
    if r is None:
        refuse(ctx, node, f"scatters with reduce={reduce!r}, which ONNX's ScatterElements has "
               f"no reduction for.")
    first = {"none": 13, "add": 16, "mul": 16, "max": 18, "min": 18}[r]
    if ctx.opset < first:
        refuse(ctx, node, f"scatters with reduce={reduce!r}: ONNX's ScatterElements has the "
               f"reduction {r!r} from opset {first}; export with opset_version >= {first}.")
    return None if r == "none" else r


def _updates(ctx, node, i: int, like, dtype) -> str:
    """Input ``i`` (a tensor shaped like the index ``like``, or a number) as the updates of a
    scatter: a number is broadcast to the index's shape (at run time for a traced index)."""
    v = node.inputs[i]
    if isinstance(v, Value):
        return ctx.name(v)
    value = np.asarray(v, dtype=dtype)
    data = _const_array(like)
    if data is not None:
        return const(ctx, np.ascontiguousarray(np.broadcast_to(value, data.shape)))
    return ctx.emit("Expand", [scalar(ctx, value, dtype), ctx.emit("Shape", [ctx.name(like)])])


def _scatter_flat(ctx, node, x: Value, base: str, pos, updates: str, reduction, shape):
    """``base`` (of ``shape``) flattened, ``updates`` scattered at flat ``pos``, reshaped
    back."""
    if x.dyn:
        refuse(ctx, node, "writes at flat positions of a tensor whose size follows a dynamic "
               "axis; the positions would change with the size.")
    return scatter_flat(ctx, base, pos, updates, shape, reduction)


def _scatter_elements(ctx, node, base: str, x: Value, index, updates: str, dim: int,
                      reduction):
    """ScatterElements of ``updates`` into ``base`` (shaped like ``x``) at ``index`` along
    ``dim``; a 0-d ``x`` is scattered as a 1-element vector."""
    idx = _index_name(ctx, index)
    if x.shape:
        ctx.emit("ScatterElements", [base, idx, updates], ctx.outputs(node), axis=dim,
                 reduction=reduction)
        return
    flat = ctx.emit("Reshape", [base, ctx.int64s([1])])
    one = [ctx.emit("Reshape", [n, ctx.int64s([-1])]) for n in (idx, updates)]
    y = ctx.emit("ScatterElements", [flat, *one], axis=0, reduction=reduction)
    finish(ctx, node, ctx.emit("Reshape", [y, ctx.int64s([])]))


def _scatter(ctx, node, reduce):
    x = node.inputs[0]
    reduction = _reduction(ctx, node, reduce)
    if len(node.inputs) > 2:                       # Scatter(x, src, index, dim=, reduce=)
        index = node.inputs[2]
        updates = _updates(ctx, node, 1, index, x.dtype)
        _scatter_elements(ctx, node, ctx.name(x), x, index, updates,
                          int(_param(node, "dim")), reduction)
        return
    pos = np.asarray(_param(node, "pos"))          # flat positions (ScatterReduce)
    updates = _updates(ctx, node, 1, pos, x.dtype)
    found = _dim_and_index(pos, x.shape)
    if found is not None:
        d, index = found
        ctx.emit("ScatterElements", [ctx.name(x), const(ctx, index), updates],
                 ctx.outputs(node), axis=d, reduction=reduction)
        return
    finish(ctx, node, _scatter_flat(ctx, node, x, ctx.name(x), pos, updates, reduction,
                                    x.shape))


@converter(Scatter)
def scatter(ctx, node):
    _scatter(ctx, node, _param(node, "reduce"))


@converter(ScatterReduce)
def scatter_reduce(ctx, node):
    reduce = _param(node, "reduce")
    if reduce == "mean" or not _param(node, "include_self"):
        refuse(ctx, node, f"scatter_reduce(reduce={reduce!r}, include_self="
               f"{_param(node, 'include_self')}) has no ONNX form (ScatterElements always "
               f"includes the destination and has no mean).")
    _scatter(ctx, node, reduce)


def _add_reduction(ctx, node, unique: bool):
    """'add' (opset 16+), or no reduction where every position is written once."""
    if ctx.opset >= 16:
        return "add"
    if unique:
        return None
    refuse(ctx, node, "adds values at repeated positions, which needs ScatterElements' "
           "reduction 'add' (opset 16); export with opset_version >= 16.")


@converter(ScatterAddFlat)
def scatter_add_flat(ctx, node):
    g, out = node.inputs[0], node.outputs[0]
    pos = np.asarray(_param(node, "pos"))
    shape = tuple(_param(node, "shape"))
    reduction = _add_reduction(ctx, node, np.unique(pos).size == pos.size)
    found = _dim_and_index(pos, shape)
    if found is not None:
        d, index = found
        ctx.emit("ScatterElements", [zeros(ctx, out, [g]), const(ctx, index), ctx.name(g)],
                 ctx.outputs(node), axis=d, reduction=reduction)
        return
    finish(ctx, node, _scatter_flat(ctx, node, out, zeros(ctx, out, [g]), pos, ctx.name(g),
                                    reduction, shape))


@converter(ScatterAdd)
def scatter_add(ctx, node):
    """Zeros with ``src`` added at ``index`` along ``dim`` (``scatter_add`` adds its input to
    this): ScatterElements with reduction 'add' into ConstantOfShape zeros."""
    src, index, out = node.inputs[0], node.inputs[1], node.outputs[0]
    data = _const_array(index)
    unique = data is not None and np.unique(np.asarray(node.op.pos)).size == data.size
    reduction = _add_reduction(ctx, node, unique)
    _scatter_elements(ctx, node, zeros(ctx, out, [src, index]), out, index, ctx.name(src),
                      int(_param(node, "dim")), reduction)


def _index_along(ctx, index: np.ndarray, dim: int, like: str, rank: int) -> str:
    """``index`` (1-d) placed along ``dim`` and expanded to the run-time shape of ``like``:
    the ScatterElements index of an index_add/index_copy."""
    shape = [1] * rank
    shape[dim] = -1
    idx = const(ctx, np.asarray(index, dtype=np.int64).reshape(shape))
    return ctx.emit("Expand", [idx, ctx.emit("Shape", [like])])


@converter(IndexAddZeros)
def index_add_zeros(ctx, node):
    g, out = node.inputs[0], node.outputs[0]
    index = np.asarray(_param(node, "index")).reshape(-1)
    dim = int(_param(node, "dim"))
    if not out.shape:
        refuse(ctx, node, "adds into a 0-d tensor, which is not supported.")
    reduction = _add_reduction(ctx, node, np.unique(index).size == index.size)
    gname = ctx.name(g)
    idx = _index_along(ctx, index, dim, gname, len(out.shape))
    ctx.emit("ScatterElements", [zeros(ctx, out, [g]), idx, gname], ctx.outputs(node),
             axis=dim, reduction=reduction)


@converter(IndexCopy)
def index_copy(ctx, node):
    x, src = node.inputs[0], node.inputs[1]
    index = np.asarray(_param(node, "index")).reshape(-1)
    dim = int(_param(node, "dim"))
    if not x.shape:
        refuse(ctx, node, "copies into a 0-d tensor, which is not supported.")
    sname = ctx.name(src)
    idx = _index_along(ctx, index, dim, sname, len(x.shape))
    ctx.emit("ScatterElements", [ctx.name(x), idx, sname], ctx.outputs(node), axis=dim)


@converter(IndexPut)
def index_put(ctx, node):
    x = node.inputs[0]
    index = _param(node, "index")
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, Value) for i in items):
        refuse(ctx, node, "writes at an index computed from the model's inputs, which is not "
               "supported.")
    pos = np.arange(int(np.prod(x.shape)), dtype=np.int64).reshape(x.shape)[index]
    reduction = _add_reduction(ctx, node, np.unique(pos).size == pos.size) \
        if _param(node, "accumulate") else None
    v = node.inputs[1]
    upd = _updates(ctx, node, 1, pos, x.dtype)
    if isinstance(v, Value) and tuple(v.shape) != pos.shape:
        upd = ctx.emit("Expand", [upd, ctx.int64s(pos.shape)])
    finish(ctx, node, _scatter_flat(ctx, node, x, ctx.name(x), pos, upd, reduction, x.shape))


@converter(Put)
def put(ctx, node):
    x = node.inputs[0]
    pos = np.asarray(_param(node, "pos"))
    accumulate = bool(_param(node, "accumulate"))
    reduction = _add_reduction(ctx, node, np.unique(pos).size == pos.size) if accumulate \
        else None
    upd = _updates(ctx, node, 1, pos, x.dtype)
    finish(ctx, node, _scatter_flat(ctx, node, x, ctx.name(x), pos, upd, reduction, x.shape))


# ---------------------------------------------------------------------------------------
# masks

def _compact_mask(mask: np.ndarray, x: Value, out: Value) -> np.ndarray:
    """``mask`` with every axis along which it does not vary cut to size 1, where the result
    keeps its size through ``x`` (so a mask uniform along a dynamic axis broadcasts)."""
    m = np.asarray(mask)
    lead_m = len(out.shape) - m.ndim
    lead_x = len(out.shape) - len(x.shape)
    for i in range(m.ndim):
        j = i + lead_m
        jx = j - lead_x
        if m.shape[i] > 1 and jx >= 0 and x.shape[jx] == out.shape[j]:
            first = np.take(m, [0], axis=i)
            if np.array_equal(np.broadcast_to(first, m.shape), m):
                m = first
    return np.array(m, order="C")


@converter(MaskedFill)
def masked_fill(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    mask = _operand(node, 2, "mask")
    data = _const_array(mask)
    if data is None:                                 # a mask computed by the model
        mask_name = ctx.name(mask)
    else:
        mask_name = const(ctx, _compact_mask(np.asarray(data, dtype=bool), x, out))
    value = node.inputs[1]
    value = ctx.name(value) if isinstance(value, Value) else scalar(ctx, value, out.dtype)
    where(ctx, mask_name, value, ctx.name(x), out.dtype, ctx.outputs(node))


def _expanded(ctx, x: Value, shape) -> str:
    name = ctx.name(x)
    if tuple(x.shape) != tuple(shape):
        name = ctx.emit("Expand", [name, ctx.int64s(shape)])
    return name


@converter(MaskedSelect)
def masked_select(ctx, node):
    x = node.inputs[0]
    if _const_array(node.inputs[1]) is None:
        refuse(ctx, node, "selects with a mask computed from the model's inputs: the result's "
               "size depends on the data. Use ember.where(mask, x, other) instead.")
    mask = np.asarray(node.op.mask)
    if x.dyn:
        refuse(ctx, node, "selects from a tensor whose size follows a dynamic axis with a "
               "constant mask.")
    if node.outputs[0].dyn:
        refuse(ctx, node, "selects with a mask computed from the model's inputs: the "
               "result's size depends on the data. Use ember.where(mask, x, other) instead.")
    flat = ctx.emit("Reshape", [_expanded(ctx, x, mask.shape), ctx.int64s([-1])])
    pos = np.flatnonzero(mask).astype(np.int64)
    finish(ctx, node, ctx.emit("Gather", [flat, const(ctx, pos)], axis=0))


@converter(MaskedScatter)
def masked_scatter(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    mask = np.asarray(node.op.mask)
    pos = np.flatnonzero(mask).astype(np.int64)
    src = ctx.emit("Reshape", [ctx.input(node, 1), ctx.int64s([-1])])
    upd = emit_slice(ctx, src, [0], [len(pos)], [0])
    base = _expanded(ctx, x, out.shape)
    finish(ctx, node, _scatter_flat(ctx, node, out, base, pos, upd, None, out.shape))

