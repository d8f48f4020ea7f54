"""Converters for shape and view ops (``ember/ops/shape.py``) and padding
(``ember/ops/padding.py``).

The mapping, ember op -> ONNX:

===================  ===========================================================================
Reshape              Reshape. The target shape copies (``0``) the input's dimension where a
                     dynamic axis stays in place, gets the others from ``ctx.dim`` (a size of an
                     input, or a multiple or fraction of one) and ``-1`` for at most one that
                     cannot be expressed; more than one such dimension is refused.
Expand               Expand. ONNX broadcasts both ways, so a dynamic dimension the input already
                     has is written ``1``; new dynamic dimensions come from ``ctx.dim``.
Permute/Transpose    Transpose (``perm``); an identity permutation is an Identity.
Squeeze/Unsqueeze    Squeeze/Unsqueeze with the axes as an input (opset 13+).
Clone                Identity.
Repeat               Tile (after an Unsqueeze when ``repeats`` has more entries than dims).
Cat / Stack          Concat / Unsqueeze of every input + Concat.
SplitWithSizes       Split with the sizes as an input (``split``: an input from opset 13, and
                     still accepted at 18+, where ``num_outputs`` was added). Dynamic sizes
                     come from ``ctx.dim``; a split shaped like ``chunk(k)`` in both traces is
                     computed as chunk does (``ceil(n / k)``, the rest last); else one dynamic
                     size may be the remainder ``n - sum(others)``. A split into a number of
                     pieces that changes with a dynamic size is refused.
Unbind               Split into ones + Squeeze of each piece.
Flip                 Slice with ``starts=-1``, ``ends=INT64_MIN``, ``steps=-1``.
Roll                 two Slices + Concat per rolled dim (the shift taken modulo a dynamic size
                     at run time); ``dims=None`` rolls the flattened tensor and reshapes back.
Tril                 Trilu (opset 14+, for the dtypes onnxruntime implements it for); otherwise
                     Where (And for bool) with a triangle mask: a constant, or built with Range
                     for dynamic sizes.
Diagonal / Trace     Transpose + Reshape of the two dims into one + Gather of the diagonal's
                     flat positions (+ ReduceSum for trace); the two dims must be static.
DiagonalScatter      (diag_embed, diag of a vector) ScatterElements of the input into
                     ConstantOfShape zeros at the diagonal's flat positions (static shapes).
ViewScatter          (select_scatter / slice_scatter / diagonal_scatter) ScatterElements of the
                     source at the region's flat positions, found by running the op's own
                     region function on an array of positions (static shapes).
Unfold               Gather with a (windows, size) index + Transpose of the window dim to last.
ConstantPad          Pad (mode ``constant``, pads and value as inputs; negative amounts crop).
IndexPad             Pad with mode ``reflect`` / ``edge`` (replicate) / ``wrap`` (circular,
                     opset 19+). Where ONNX's Pad cannot express the op (circular below opset
                     19, negative amounts in these modes) the op is written as what it is: a
                     Gather per padded dimension with the source index of every output position.
===================  ===========================================================================

``GetItem`` (``x[index]``, ``narrow``, ``select``) and the ops of ``ember/ops/indexing.py``
are in ``converters/indexing.py``. ``AsStrided`` reads the memory layout, which ONNX has no
notion of: it has no converter, so export names it as unsupported.

The helpers at the top (``finish``, ``const``/``scalar``, ``shape_b``, ``size_of``,
``int_vector``, ``emit_slice``, ``where``, ``scatter_flat``, ``zeros``) are shared with
``converters/indexing.py``. Data follows onnxruntime's kernels: its Where takes no bool data
(And/Or/Not instead), its Trilu no 8-bit integers.
"""
from __future__ import annotations

import numpy as np

from ...ops.padding import ConstantPad, IndexPad, _source_index
from ...ops.shape import (
    Cat,
    Clone,
    Diagonal,
    DiagonalScatter,
    Expand,
    Flip,
    Permute,
    Repeat,
    Reshape,
    Roll,
    SplitWithSizes,
    Squeeze,
    Stack,
    Trace,
    Tril,
    Unbind,
    Unfold,
    Unsqueeze,
    ViewScatter,
    _diag_view,
)
from .._registry import converter
from .._trace import Value
from ..errors import OnnxExporterError

INT64_MAX = int(np.iinfo(np.int64).max)
INT64_MIN = int(np.iinfo(np.int64).min)


# ---------------------------------------------------------------------------------------
# shared helpers

def finish(ctx, node, result: str, i: int = 0) -> None:
    """Make ``result`` (the last value a converter computed) the node's output ``i``: the
    node that produced it is renamed to write the output directly when it is the last one
    emitted, so no Identity is needed; otherwise (an input, a constant) an Identity."""
    target = ctx.out(node, i)
    last = ctx.nodes[-1] if ctx.nodes else None
    if last is not None and len(last.output) == 1 and last.output[0] == result \
            and not _is_named(ctx, node, result):
        last.output[0] = target
    else:
        ctx.emit("Identity", [result], [target])


def _is_named(ctx, node, name):
    """Whether ``name`` is the name of a traced value (an input of ``node``): those keep their
    name."""
    return any(isinstance(v, Value) and v.name == name for v in _flat_values(node.inputs))


def _flat_values(items):
    for x in items:
        if isinstance(x, (list, tuple)):
            yield from _flat_values(x)
        else:
            yield x


def const(ctx, array) -> str:
    """``ctx.const(array)``, except that a 0-d array stays 0-d: ``ExportContext`` writes its
    initializers through ``np.ascontiguousarray``, which makes 0-d arrays 1-d, so a 0-d one
    gets an initializer of its own here (not shared: another converter may have been given
    the 1-d form of the same value)."""
    arr = np.asarray(array)
    if arr.ndim:
        return ctx.const(arr)
    from onnx import numpy_helper
    name = ctx.fresh("onnx::Constant")
    ctx.initializers[name] = numpy_helper.from_array(arr, name)
    return name


def scalar(ctx, value, dtype) -> str:
    """A 0-d constant of ``dtype``."""
    return const(ctx, np.asarray(value, dtype=dtype))


def shape_b(v: Value) -> tuple:
    """The shape ``v`` had in the second trace (other sizes along the dynamic axes)."""
    return tuple(v.dyn.get(i, (s, s))[1] for i, s in enumerate(v.shape))


def size_of(ctx, name: str, axis: int) -> str:
    """A 1-d int64 tensor holding ``name``'s size along ``axis`` at run time."""
    if ctx.opset >= 15:
        return ctx.emit("Shape", [name], start=axis, end=axis + 1 if axis != -1 else None)
    return ctx.emit("Gather", [ctx.emit("Shape", [name]), ctx.int64s([axis])], axis=0)


def int_vector(ctx, parts) -> str:
    """A 1-d int64 tensor from ``parts``: Python ints and names of 1-d int64 tensors of one
    element, in order (a constant when all are ints, else a Concat)."""
    if all(isinstance(p, (int, np.integer)) for p in parts):
        return ctx.int64s(parts)
    pieces, run = [], []
    for p in parts:
        if isinstance(p, (int, np.integer)):
            run.append(int(p))
            continue
        if run:
            pieces.append(ctx.int64s(run))
            run = []
        pieces.append(p)
    if run:
        pieces.append(ctx.int64s(run))
    return pieces[0] if len(pieces) == 1 else ctx.emit("Concat", pieces, axis=0)


def emit_slice(ctx, x: str, starts, ends, axes, steps=None) -> str:
    """A Slice node; ``starts``/``ends`` may hold names of run-time values (see
    ``int_vector``)."""
    ins = [x, int_vector(ctx, starts), int_vector(ctx, ends), ctx.int64s(axes)]
    if steps is not None and any(s != 1 for s in steps):
        ins.append(ctx.int64s(steps))
    return ctx.emit("Slice", ins)


def where(ctx, cond: str, a: str, b: str, dtype, outputs=1):
    """``Where(cond, a, b)``; for bool data (which onnxruntime's Where does not take) the
    same with And/Or/Not."""
    if np.dtype(dtype) == np.bool_:
        keep = ctx.emit("And", [ctx.emit("Not", [cond]), b])
        return ctx.emit("Or", [ctx.emit("And", [cond, a]), keep], outputs)
    return ctx.emit("Where", [cond, a, b], outputs)


def scatter_flat(ctx, base: str, pos, updates: str, shape, reduction=None) -> str:
    """``base`` (of static ``shape``) flattened, ``updates`` written at the constant flat
    positions ``pos`` (ScatterElements, ``reduction`` as given), reshaped back."""
    flat = ctx.emit("Reshape", [base, ctx.int64s([-1])])
    upd = ctx.emit("Reshape", [updates, ctx.int64s([-1])])
    idx = const(ctx, np.asarray(pos, dtype=np.int64).reshape(-1))
    y = ctx.emit("ScatterElements", [flat, idx, upd], axis=0, reduction=reduction)
    return ctx.emit("Reshape", [y, ctx.int64s(shape)])


def zeros(ctx, v: Value, refs=()) -> str:
    """Zeros of ``v``'s dtype and shape (following its dynamic axes): ConstantOfShape."""
    from onnx import numpy_helper
    fill = numpy_helper.from_array(np.zeros(1, dtype=v.dtype), "value")
    return ctx.emit("ConstantOfShape", [ctx.shape_of(v, refs=refs)], value=fill)


def refuse(ctx, node, what: str):
    raise OnnxExporterError(f"ember.onnx.export: {node.op_name} at\n  {node.where}\n{what}")


# ---------------------------------------------------------------------------------------
# reshape / expand

def _reshape_target(ctx, node, x: Value, out: Value) -> str:
    """The target shape of a Reshape from ``x`` to ``out`` (see the module docstring)."""
    if not out.dyn:
        return ctx.int64s(out.shape)
    parts, unresolved = [], []
    for i, s in enumerate(out.shape):
        pair = out.dyn.get(i)
        if pair is None:
            parts.append(int(s))
        elif i < len(x.shape) and x.dyn.get(i) == pair:
            parts.append(0)                           # Reshape's 0: copy the input's size
        else:
            d = ctx.dim(pair[0], pair[1], refs=[x])
            if d is None:
                unresolved.append(i)
                parts.append(-1)
            else:
                parts.append(d)
    if len(unresolved) > 1:
        sizes = ", ".join(f"dim {i}: {out.dyn[i][0]} vs {out.dyn[i][1]}" for i in unresolved)
        refuse(ctx, node, f"reshapes to {tuple(out.shape)} (with other input sizes "
               f"{shape_b(out)}), but {len(unresolved)} dimensions ({sizes}) are not a size "
               f"of an input, nor a whole multiple or fraction of one, so the graph cannot "
               f"compute them. Write those dimensions as x.size(k) (times or divided by a "
               f"constant), leave at most one of them -1, or mark fewer axes dynamic.")
    if 0 in out.shape and any(isinstance(p, str) or p == 0 for p in parts):
        refuse(ctx, node, "reshapes to a shape with a zero-size dimension along dynamic "
               "axes, which ONNX's Reshape reads as 'copy the input's size'.")
    return int_vector(ctx, parts)


@converter(Reshape)
def reshape(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    if tuple(x.shape) == tuple(out.shape) and x.dyn == out.dyn:
        ctx.emit("Identity", [ctx.input(node, 0)], ctx.outputs(node))
        return
    name = ctx.input(node, 0)
    if 0 in out.shape and not out.dyn:
        # a zero-size target: ONNX's Reshape reads 0 as "copy the input's size" unless
        # allowzero=1 (opset 14); at 13 the zero is written -1 (inferred: 0 elements)
        if ctx.opset >= 14:
            ctx.emit("Reshape", [name, ctx.int64s(out.shape)], ctx.outputs(node), allowzero=1)
            return
        if out.shape.count(0) > 1:
            refuse(ctx, node, f"reshapes to {tuple(out.shape)}, with several zero-size "
                   f"dimensions, which opset 13's Reshape cannot express; export with "
                   f"opset_version >= 14.")
        target = [-1 if s == 0 else int(s) for s in out.shape]
        ctx.emit("Reshape", [name, ctx.int64s(target)], ctx.outputs(node))
        return
    ctx.emit("Reshape", [name, _reshape_target(ctx, node, x, out)], ctx.outputs(node))


@converter(Expand)
def expand(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    lead = len(out.shape) - len(x.shape)
    parts = []
    for i, s in enumerate(out.shape):
        j = i - lead
        pair = out.dyn.get(i)
        if j >= 0 and x.shape[j] == s and x.dyn.get(j) == pair:
            parts.append(1 if pair is not None else int(s))     # 1: keep the input's size
        elif pair is None:
            parts.append(int(s))
        else:
            d = ctx.dim(pair[0], pair[1], refs=[x])
            if d is None:
                refuse(ctx, node, f"expands to {tuple(out.shape)} (with other input sizes "
                       f"{shape_b(out)}); dimension {i} is not a size of an input, nor a "
                       f"multiple or fraction of one, so the graph cannot compute it. Expand "
                       f"to a size taken from an input (x.size(k)), or use expand_as.")
            parts.append(d)
    ctx.emit("Expand", [ctx.input(node, 0), int_vector(ctx, parts)], ctx.outputs(node))


# ---------------------------------------------------------------------------------------
# permutations, squeeze, copies

@converter(Permute)
def permute(ctx, node):
    dims = [int(d) for d in node.op.dims]
    if dims == list(range(len(dims))):
        ctx.emit("Identity", [ctx.input(node, 0)], ctx.outputs(node))
    else:
        ctx.emit("Transpose", [ctx.input(node, 0)], ctx.outputs(node), perm=dims)


@converter(Squeeze)
def squeeze(ctx, node):
    dims = node.params.get("dims", ())
    if not dims:
        ctx.emit("Identity", [ctx.input(node, 0)], ctx.outputs(node))
    else:
        ctx.squeeze(ctx.input(node, 0), [int(d) for d in dims], ctx.outputs(node))


@converter(Unsqueeze)
def unsqueeze(ctx, node):
    ctx.unsqueeze(ctx.input(node, 0), [int(node.params["dim"])], ctx.outputs(node))


@converter(Clone)
def clone(ctx, node):
    ctx.emit("Identity", [ctx.input(node, 0)], ctx.outputs(node))


@converter(Repeat)
def repeat(ctx, node):
    reps = [int(r) for r in node.op.reps]
    x = ctx.input(node, 0)
    lead = len(reps) - len(node.inputs[0].shape)
    if lead:
        x = ctx.unsqueeze(x, list(range(lead)))
    out = node.outputs[0]
    if out.dyn:          # repeats that follow a dynamic size: output shape / input shape
        target = ctx.shape_of(out, refs=[v for v in node.inputs if isinstance(v, Value)])
        counts = ctx.emit("Div", [target, ctx.emit("Shape", [x])])
    else:
        counts = ctx.int64s(reps)
    ctx.emit("Tile", [x, counts], ctx.outputs(node))


# ---------------------------------------------------------------------------------------
# joining and splitting

@converter(Cat)
def cat(ctx, node):
    skip = node.params.get("skip") or (False,) * len(node.inputs)
    names = [ctx.input(node, i) for i, s in enumerate(skip) if not s]
    if len(names) == 1:
        ctx.emit("Identity", names, ctx.outputs(node))
    else:
        ctx.emit("Concat", names, ctx.outputs(node), axis=int(node.params["dim"]))


@converter(Stack)
def stack(ctx, node):
    dim = int(node.params["dim"])
    names = [ctx.unsqueeze(ctx.input(node, i), [dim]) for i in range(len(node.inputs))]
    if len(names) == 1:
        finish(ctx, node, names[0])
    else:
        ctx.emit("Concat", names, ctx.outputs(node), axis=dim)


def _chunk_like(sizes_a, sizes_b, n_a, n_b) -> bool:
    """Whether both traces split as ``chunk(k)``: ``ceil(n / k)`` each, the rest last."""
    k = len(sizes_a)
    for sizes, n in ((sizes_a, n_a), (sizes_b, n_b)):
        s = -(-n // k)
        if list(sizes) != [s] * (k - 1) + [n - s * (k - 1)]:
            return False
    return True


def _split_sizes(ctx, node, x: Value, dim: int) -> str:
    """The ``split`` input: each output's size along ``dim``. Dynamic sizes come from
    ``ctx.dim``; a split shaped like ``chunk(k)`` in both traces is computed as ``chunk``
    does (``ceil(n / k)``, the rest last); else a single unresolved size is the input's size
    minus the others."""
    n_a, n_b = x.shape[dim], shape_b(x)[dim]
    sizes_a = [o.shape[dim] for o in node.outputs]
    sizes_b = [o.dyn.get(dim, (s, s))[1] for o, s in zip(node.outputs, sizes_a)]
    if sum(sizes_b) != n_b:
        refuse(ctx, node, f"splits dimension {dim}, which follows a dynamic axis, into a "
               f"number of pieces that changes with its size ({len(sizes_a)} pieces for size "
               f"{n_a}); the number of outputs of an ONNX node is fixed. Split into a fixed "
               f"number of pieces (chunk) or along a static dimension.")
    if not any(dim in o.dyn for o in node.outputs):
        return ctx.int64s(sizes_a)
    k = len(sizes_a)
    if k > 1 and _chunk_like(sizes_a, sizes_b, n_a, n_b):
        n = size_of(ctx, ctx.name(x), dim)
        size = ctx.emit("Div", [ctx.emit("Add", [n, ctx.int64s([k - 1])]), ctx.int64s([k])])
        last = ctx.emit("Sub", [n, ctx.emit("Mul", [size, ctx.int64s([k - 1])])])
        return ctx.emit("Concat", [size] * (k - 1) + [last], axis=0)
    parts, unresolved = [], []
    for k, o in enumerate(node.outputs):
        pair = o.dyn.get(dim)
        if pair is None:
            parts.append(int(o.shape[dim]))
            continue
        d = ctx.dim(pair[0], pair[1], refs=[x])
        if d is None:
            unresolved.append(k)
            parts.append(None)
        else:
            parts.append(d)
    if len(unresolved) > 1:
        refuse(ctx, node, f"splits a dynamic dimension into pieces whose sizes "
               f"{[tuple(o.dyn.get(dim, (o.shape[dim],) * 2)) for o in node.outputs]} (in "
               f"the two traces) cannot be computed from the input sizes.")
    if unresolved:
        others = [p for p in parts if p is not None]
        rest = size_of(ctx, ctx.name(x), dim)
        if others:
            total = ctx.emit("ReduceSum", [int_vector(ctx, others)], keepdims=1)
            rest = ctx.emit("Sub", [rest, total])
        parts[unresolved[0]] = rest
    return int_vector(ctx, parts)


@converter(SplitWithSizes)
def split(ctx, node):
    x = node.inputs[0]
    dim = int(node.op.dim)
    if len(node.outputs) == 1:
        ctx.emit("Identity", [ctx.input(node, 0)], ctx.outputs(node))
        return
    ctx.emit("Split", [ctx.input(node, 0), _split_sizes(ctx, node, x, dim)],
             ctx.outputs(node), axis=dim)


@converter(Unbind)
def unbind(ctx, node):
    x = node.inputs[0]
    dim = int(node.op.dim)
    if dim in x.dyn:
        refuse(ctx, node, f"unbinds dimension {dim}, which follows a dynamic axis: the number "
               f"of outputs of an ONNX node is fixed.")
    n = len(node.outputs)
    if n == 0:
        return
    if n == 1:
        ctx.squeeze(ctx.input(node, 0), [dim], ctx.outputs(node))
        return
    pieces = ctx.emit("Split", [ctx.input(node, 0), ctx.int64s([1] * n)], n, axis=dim)
    for k, p in enumerate(pieces):
        ctx.squeeze(p, [dim], [ctx.out(node, k)])


# ---------------------------------------------------------------------------------------
# flip, roll

@converter(Flip)
def flip(ctx, node):
    dims = [int(d) for d in node.op.dims]
    if not dims:
        ctx.emit("Identity", [ctx.input(node, 0)], ctx.outputs(node))
        return
    k = len(dims)
    y = emit_slice(ctx, ctx.input(node, 0), [-1] * k, [INT64_MIN] * k, dims, [-1] * k)
    finish(ctx, node, y)


def _roll_dim(ctx, y: str, shift: int, dim: int, n_a: int, n_b: int) -> str:
    """``y`` rolled by ``shift`` along ``dim`` (size ``n_a``, or ``n_b`` in the second
    trace): the last ``k = shift mod n`` elements move to the front."""
    if n_a == n_b:
        k = shift % n_a if n_a else 0
        if k == 0:
            return y
        cut = [n_a - k]
    else:                          # dynamic size: the cut n - (shift mod n) at run time
        n = size_of(ctx, y, dim)
        k = ctx.emit("Mod", [ctx.int64s([shift]), n])        # fmod=0: the sign of n (>= 0)
        cut = [ctx.emit("Sub", [n, k])]
    tail = emit_slice(ctx, y, cut, [INT64_MAX], [dim])
    head = emit_slice(ctx, y, [0], cut, [dim])
    return ctx.emit("Concat", [tail, head], axis=dim)


@converter(Roll)
def roll(ctx, node):
    x = node.inputs[0]
    name = ctx.input(node, 0)
    if node.op.dims is None:
        numel_a = int(np.prod(x.shape))
        numel_b = int(np.prod(shape_b(x)))
        flat = ctx.emit("Reshape", [name, ctx.int64s([-1])])
        rolled = _roll_dim(ctx, flat, int(node.op.shifts), 0, numel_a, numel_b)
        shape = ctx.emit("Shape", [name]) if x.dyn else ctx.int64s(x.shape)
        finish(ctx, node, ctx.emit("Reshape", [rolled, shape]))
        return
    y = name
    sb = shape_b(x)
    for s, d in zip(node.op.shifts, node.op.dims):
        y = _roll_dim(ctx, y, int(s), int(d), x.shape[d], sb[d])
    finish(ctx, node, y)


# ---------------------------------------------------------------------------------------
# triangles, diagonals, windows

_TRILU_TYPES = {np.dtype(t) for t in ("float16", "float32", "float64", "int32", "int64",
                                      "bool")}


def _tri_mask(ctx, name: str, x: Value, diagonal: int, upper: bool) -> str:
    """A bool mask of the last two dims of ``x``: True on the kept triangle."""
    (n, m), (nb, mb) = x.shape[-2:], shape_b(x)[-2:]
    r = len(x.shape)
    if (n, m) == (nb, mb):
        rows, cols = np.arange(n)[:, None], np.arange(m)[None, :]
        mask = cols - rows >= diagonal if upper else cols - rows <= diagonal
        return const(ctx, mask)
    # dynamic sizes: cols - rows from two Ranges, compared with the diagonal
    zero, one = scalar(ctx, 0, np.int64), scalar(ctx, 1, np.int64)
    rows = ctx.emit("Range", [zero, ctx.squeeze(size_of(ctx, name, r - 2), [0]), one])
    cols = ctx.emit("Range", [zero, ctx.squeeze(size_of(ctx, name, r - 1), [0]), one])
    diff = ctx.emit("Sub", [ctx.unsqueeze(cols, [0]), ctx.unsqueeze(rows, [1])])
    k = scalar(ctx, diagonal, np.int64)
    if upper:
        return ctx.emit("Not", [ctx.emit("Less", [diff, k])])
    return ctx.emit("Not", [ctx.emit("Greater", [diff, k])])


@converter(Tril)
def tril(ctx, node):
    x = node.inputs[0]
    diagonal, upper = int(node.op.diagonal), bool(node.op.upper)
    name = ctx.input(node, 0)
    if ctx.opset >= 14 and x.dtype in _TRILU_TYPES:
        ctx.emit("Trilu", [name, scalar(ctx, diagonal, np.int64)], ctx.outputs(node),
                 upper=int(upper))
        return
    mask = _tri_mask(ctx, name, x, diagonal, upper)
    if x.dtype == np.bool_:
        ctx.emit("And", [mask, name], ctx.outputs(node))
    else:
        ctx.emit("Where", [mask, name, scalar(ctx, 0, x.dtype)], ctx.outputs(node))


def _diagonal(ctx, node, name: str, x: Value, offset: int, d1: int, d2: int) -> str:
    """The diagonal of dims (d1, d2) of ``x`` as a new last dimension."""
    if d1 in x.dyn or d2 in x.dyn:
        refuse(ctx, node, f"takes a diagonal of dims ({d1}, {d2}), and one of them follows a "
               f"dynamic axis; only diagonals of static dimensions can be exported.")
    r = len(x.shape)
    n1, n2 = x.shape[d1], x.shape[d2]
    if offset >= 0:
        length, s1, s2 = max(0, min(n1, n2 - offset)), 0, offset
    else:
        length, s1, s2 = max(0, min(n1 + offset, n2)), -offset, 0
    rest = [i for i in range(r) if i not in (d1, d2)]
    perm = rest + [d1, d2]
    y = name if perm == list(range(r)) else ctx.emit("Transpose", [name], perm=perm)
    y = ctx.emit("Reshape", [y, ctx.int64s([0] * len(rest) + [n1 * n2])])
    pos = (s1 + np.arange(length, dtype=np.int64)) * n2 + s2 + np.arange(length)
    return ctx.emit("Gather", [y, const(ctx, pos.astype(np.int64))], axis=len(rest))


@converter(Diagonal)
def diagonal(ctx, node):
    offset, d1, d2 = (int(a) for a in node.op.args)
    y = _diagonal(ctx, node, ctx.input(node, 0), node.inputs[0], offset, d1, d2)
    finish(ctx, node, y)


@converter(Trace)
def trace(ctx, node):
    x = node.inputs[0]
    y = _diagonal(ctx, node, ctx.input(node, 0), x, 0, 0, 1)
    if x.dtype != node.outputs[0].dtype:
        y = ctx.cast(y, node.outputs[0].dtype)
    finish(ctx, node, ctx.reduce("ReduceSum", y, [0], keepdims=False))


def _positions(shape) -> np.ndarray:
    """The flat (C-order) position of every element of an array of ``shape``."""
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)


@converter(DiagonalScatter)
def diagonal_scatter(ctx, node):
    """``diag_embed`` / ``diag`` of a vector: zeros with the input on a diagonal, written
    with ScatterElements at the diagonal's flat positions (static shapes)."""
    src, out = node.inputs[0], node.outputs[0]
    if src.dyn or out.dyn:
        refuse(ctx, node, "places a tensor whose size follows a dynamic axis on a diagonal; "
               "only static shapes can be exported.")
    offset, d1, d2 = (int(a) for a in node.op.args)
    pos = _diag_view(_positions(out.shape), offset, d1, d2)
    finish(ctx, node, scatter_flat(ctx, zeros(ctx, out), pos, ctx.input(node, 0), out.shape))


@converter(ViewScatter)
def view_scatter(ctx, node):
    """``select_scatter`` / ``slice_scatter`` / ``diagonal_scatter``: ScatterElements of the
    source at the flat positions of the region (found by applying the op's own region
    function to the array of positions; static shapes)."""
    x = node.inputs[0]
    if x.dyn:
        refuse(ctx, node, "scatters into a tensor whose size follows a dynamic axis; only "
               "static shapes can be exported.")
    pos = np.asarray(node.op.region(_positions(x.shape)))
    finish(ctx, node, scatter_flat(ctx, ctx.input(node, 0), pos, ctx.input(node, 1), x.shape))


@converter(Unfold)
def unfold(ctx, node):
    x = node.inputs[0]
    name = ctx.input(node, 0)
    dim, size, step = (int(node.params[k]) for k in ("dim", "size", "step"))
    if not x.shape:
        ctx.emit("Reshape", [name, ctx.int64s([1])], ctx.outputs(node))
        return
    if dim in x.dyn:
        refuse(ctx, node, f"takes windows along dimension {dim}, which follows a dynamic "
               f"axis; the number of windows would change with the input size.")
    count = (x.shape[dim] - size) // step + 1
    idx = (np.arange(count)[:, None] * step + np.arange(size)[None, :]).astype(np.int64)
    y = ctx.emit("Gather", [name, const(ctx, idx)], axis=dim)
    r = len(x.shape) + 1                             # the gathered rank
    perm = [i for i in range(r) if i != dim + 1] + [dim + 1]
    if perm != list(range(r)):
        y = ctx.emit("Transpose", [y], perm=perm)
    finish(ctx, node, y)


# ---------------------------------------------------------------------------------------
# padding

def _pads(rank: int, pairs) -> list:
    """ONNX's pads (all begins, then all ends) from ``(lo, hi)`` pairs of the last dims."""
    lead = rank - len(pairs)
    return [0] * lead + [int(lo) for lo, _ in pairs] + [0] * lead + [int(hi) for _, hi in pairs]


@converter(ConstantPad)
def constant_pad(ctx, node):
    x = node.inputs[0]
    pairs = node.params["pairs"]
    pads = _pads(len(x.shape), pairs)
    if not any(pads):
        ctx.emit("Identity", [ctx.input(node, 0)], ctx.outputs(node))
        return
    value = scalar(ctx, node.params["value"], x.dtype)
    ctx.emit("Pad", [ctx.input(node, 0), ctx.int64s(pads), value], ctx.outputs(node),
             mode="constant")


_PAD_MODES = {"ReflectionPad": "reflect", "ReplicationPad": "replicate",
              "CircularPad": "circular"}
_ONNX_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _decode_pairs(mode: str, idxs, sizes):
    """The ``(lo, hi)`` amounts behind IndexPad's index arrays (which is what the op stores):
    the pair whose index array equals the stored one."""
    pairs = []
    for idx, n in zip(idxs, sizes):
        if idx is None:
            pairs.append((0, 0))
            continue
        total = len(idx) - n
        # several pairs may give the same index array; non-negative ones (Pad) come first
        for lo in [*range(total + 1), *range(-n, 0), *range(total + 1, len(idx) + 1)]:
            if np.array_equal(_source_index(mode, lo, total - lo, n), idx):
                pairs.append((lo, total - lo))
                break
        else:
            return None
    return pairs


@converter(IndexPad)
def index_pad(ctx, node):
    x = node.inputs[0]
    name = ctx.input(node, 0)
    idxs = node.op.idxs
    label = node.op.label
    mode = next((m for k, m in _PAD_MODES.items() if label.startswith(k)), None)
    lead = len(x.shape) - len(idxs)
    sizes = x.shape[lead:]
    pairs = _decode_pairs(mode, idxs, sizes) if mode is not None else None
    if pairs is not None and all(lo >= 0 and hi >= 0 for lo, hi in pairs) and \
            (mode != "circular" or ctx.opset >= 19):
        ctx.emit("Pad", [name, ctx.int64s(_pads(len(x.shape), pairs))], ctx.outputs(node),
                 mode=_ONNX_MODE[mode])
        return
    # what the op does, literally: a gather along each padded dimension
    y = name
    for k, idx in enumerate(idxs):
        if idx is None:
            continue
        if lead + k in x.dyn:
            refuse(ctx, node, f"pads dimension {lead + k}, which follows a dynamic axis, in a "
                   f"way ONNX's Pad cannot express at opset {ctx.opset} (circular padding "
                   f"needs opset 19; negative amounts need a static size).")
        y = ctx.emit("Gather", [y, const(ctx, np.asarray(idx, dtype=np.int64))], axis=lead + k)
    finish(ctx, node, y)
