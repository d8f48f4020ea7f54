"""Shape and view operations: reshape, expand, permute, squeeze, cat, split, flip, ...

View operations return tensors that share memory with their input (NumPy views), so writing
into one changes the other, as in PyTorch; ``Op.is_view`` records that (see ``_op.py``).
Operations that copy in PyTorch (``flip``, ``roll``, ``repeat``, ``cat``, ``tril``, ...) copy
here too, so that a later in-place write never leaks into the input.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype
from .._size import Size
from .._tensor import _trace_check, _wrap_dim
from ._op import Op, Tensor, _mark_view, _wrap, sum_to_shape, tensor_method
from .elementwise import _cast, _out
from .index import GetItem
from .inplace import check_inplace_allowed, inplace_update

__all__ = [
    "reshape", "view", "expand", "permute", "transpose", "flatten", "unflatten", "ravel",
    "squeeze", "unsqueeze", "swapaxes", "swapdims", "moveaxis", "movedim", "t", "adjoint",
    "broadcast_to", "broadcast_tensors", "broadcast_shapes", "repeat_interleave", "tile",
    "clone", "narrow", "narrow_copy", "select", "chunk", "split", "tensor_split", "hsplit",
    "vsplit", "dsplit", "unbind", "cat", "concat", "concatenate", "stack", "hstack", "vstack",
    "row_stack", "dstack", "column_stack", "flip", "fliplr", "flipud", "roll", "rot90", "diag",
    "diag_embed", "diagonal", "diagflat", "tril", "triu", "trace", "atleast_1d", "atleast_2d",
    "atleast_3d", "meshgrid", "cartesian_prod", "as_strided", "zero_", "fill_", "fill",
    "select_scatter", "slice_scatter", "diagonal_scatter", "as_strided_",
]


# ---------------------------------------------------------------------------------------
# argument helpers

def _shape_arg(shape, fn="view"):
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and ``f(Size)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(_int_arg(s) for s in shape)
    except TypeError:
        bad = next(s for s in shape if not isinstance(s, (int, np.integer)))
        raise TypeError(f"{fn}(): argument 'size' must be tuple of ints, but found element of "
                        f"type {type(bad).__name__}") from None


def _int_arg(v):
    """An int from an int, a NumPy integer or a one-element integer tensor."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError("bool is not an int")
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, Tensor) and v._data.size == 1 and v._data.dtype.kind in "iu":
        _trace_check("int", v)
        return int(v._data.reshape(()))
    raise TypeError(type(v).__name__)


def _dims_arg(dims, ndim, fn=None):
    """Normalise an int or a sequence of ints to a tuple of non-negative dims; duplicates
    raise PyTorch's error."""
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    out = tuple(_wrap_dim(int(d), ndim) for d in dims)
    seen = set()
    for d in out:
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    return out


def _varargs(args, kwargs, name):
    """``f(1, 2)``, ``f((1, 2))`` or ``f(name=(1, 2))`` -> a tuple (or a single int)."""
    if name in kwargs:
        if args:
            raise TypeError(f"got multiple values for argument '{name}'")
        v = kwargs.pop(name)
    elif len(args) == 1:
        v = args[0]
    else:
        v = args
    if kwargs:
        raise TypeError(f"unexpected keyword argument '{next(iter(kwargs))}'")
    return v


def _check_tensor(x, fn, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


# ---------------------------------------------------------------------------------------
# reshape / view

def _infer_shape(shape, numel, in_shape):
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Op):
    """Same elements, new shape. A view when NumPy can express it without copying."""

    def forward(self, x, shape, must_view):
        shape = _infer_shape(shape, x.size, x.shape)
        self.in_shape = x.shape
        if must_view:
            try:
                y = x.view()
                y.shape = shape               # raises when a copy would be needed
            except AttributeError:
                raise RuntimeError(
                    "view size is not compatible with input tensor's size and stride (at least "
                    "one dimension spans across two contiguous subspaces). Use .reshape(...) "
                    "instead.") from None
            self.is_view = True
            return y
        y = x.reshape(shape)
        self.is_view = np.may_share_memory(x, y) if x.size else True
        return y

    def backward(self, grad):
        return reshape(grad, self.in_shape)

    def name(self):
        return "ViewBackward0" if self.is_view else "UnsafeViewBackward0"


@tensor_method
def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (a view when possible, else a copy); one
    dimension may be -1."""
    return Reshape.apply(input, shape=_shape_arg(shape, "reshape"), must_view=False)


@tensor_method
def view(input: Tensor, *shape, dtype=None) -> Tensor:
    """A view with a new shape; raises if the memory layout does not allow one.

    ``x.view(dtype)`` reinterprets the bytes as another dtype (the last dimension scales by
    the ratio of element sizes); the result shares memory but carries no gradient.
    """
    if dtype is None and len(shape) == 1 and not isinstance(
            shape[0], (int, tuple, list, np.integer, Tensor)):
        dtype = shape[0]
    if dtype is not None:
        return _view_dtype(input, _dtype.as_dtype(dtype))
    return Reshape.apply(input, shape=_shape_arg(shape), must_view=True)


def _view_dtype(input, dt):
    _trace_check("Tensor.view(dtype), a reinterpretation of its bytes", input)
    arr = input._data
    new = dt.np
    if new.itemsize != arr.itemsize:
        what = (f"to view {input.dtype._legacy[:-6]} as {dt._legacy[:-6]} (different element "
                f"sizes)")
        if arr.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        if arr.shape[-1] != 1 and arr.strides[-1] != arr.itemsize:
            raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got "
                               f"{arr.strides[-1] // arr.itemsize}")
        if new.itemsize > arr.itemsize and (arr.shape[-1] * arr.itemsize) % new.itemsize:
            raise RuntimeError(f"self.size(-1) must be divisible by "
                               f"{new.itemsize // arr.itemsize} {what}, but got "
                               f"{arr.shape[-1]}")
    try:
        out = _wrap(arr.view(new))
    except ValueError as e:
        raise RuntimeError(f"view(dtype): {e}") from None
    out._vc = input._vc                   # the same memory: in-place writes are seen by both
    return out


@tensor_method
def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.view(other.size())``."""
    return view(input, other._data.shape)


@tensor_method
def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.reshape(other.size())``."""
    return reshape(input, other._data.shape)


@tensor_method
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one (a view when possible); a 0-d tensor
    becomes 1-d."""
    shape = input._data.shape
    nd = len(shape)
    if nd == 0:
        return reshape(input, (1,))
    s, e = _wrap_dim(start_dim, nd), _wrap_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    return reshape(input, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


@tensor_method
def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one entry may be -1); a view."""
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = shape[d] if shape else 1
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    ok = (n % known == 0 if known else n == 0) if -1 in sizes else known == n
    if not ok:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({n}) in the input tensor")
    if -1 in sizes:
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    return view(input, shape[:d] + sizes + shape[d + 1:])


@tensor_method
def ravel(input: Tensor) -> Tensor:
    """A 1-d view of the elements (a copy when not contiguous)."""
    return reshape(input, (-1,))


# ---------------------------------------------------------------------------------------
# expand / broadcast

class Expand(Op):
    """Broadcast to a larger shape without copying (size-1 dims repeat with stride 0)."""

    is_view = True

    def forward(self, x, shape):
        self.in_shape = x.shape
        if math.prod(shape) == x.size and x.size:
            # nothing is repeated (only size-1 or new leading dims): a writable view, since
            # PyTorch allows in-place writes there
            return x.reshape(shape)
        return np.broadcast_to(x, shape)

    def backward(self, grad):
        return grad                           # the engine sums it back to in_shape


def _expand_shape(in_shape, sizes, dtype=None):
    if len(sizes) < len(in_shape):
        name = dtype._legacy if dtype is not None else "Tensor"
        raise RuntimeError(f"expand(torch.{name}{{{list(in_shape)}}}, size={list(sizes)}): "
                           "the number of sizes provided "
                           f"({len(sizes)}) must be greater or equal to the number of dimensions "
                           f"in the tensor ({len(in_shape)})")
    lead = len(sizes) - len(in_shape)
    out = [0] * len(sizes)
    for i in reversed(range(len(sizes))):      # PyTorch reports the last mismatch first
        s = sizes[i]
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            out[i] = s
            continue
        cur = in_shape[i - lead]
        if s == -1:
            out[i] = cur
        elif cur == 1 or cur == s:
            out[i] = s
        else:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({cur}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(in_shape)}")
    return tuple(out)


@tensor_method
def expand(input: Tensor, *sizes) -> Tensor:
    """A view broadcast to ``sizes`` (-1 keeps a dimension)."""
    shape = _expand_shape(input._data.shape, _shape_arg(sizes, "expand"), input.dtype)
    return Expand.apply(input, shape=shape)


@tensor_method
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.size())``."""
    return expand(input, other._data.shape)


@tensor_method
def broadcast_to(input: Tensor, size) -> Tensor:
    """A view of ``input`` broadcast to ``size`` (-1 keeps a dimension)."""
    return expand(input, tuple(size))


def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of the given shapes broadcast to."""
    shapes = [(int(s),) if isinstance(s, (int, np.integer)) else tuple(int(v) for v in s)
              for s in shapes]
    nd = max((len(s) for s in shapes), default=0)
    out = [1] * nd
    for k, s in enumerate(shapes):
        for i, v in enumerate(s):
            j = nd - len(s) + i
            if v < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {v}: "
                                   f"{list(s)}")
            if out[j] == 1:
                out[j] = v
            elif v != 1 and v != out[j]:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {v} at {j - nd}! "
                    f"Mismatching argument at index {k} had {tuple(s)}; but expected shape "
                    f"should be broadcastable to {out}")
    return Size(out)


def _broadcast_error(shapes):
    """PyTorch's message for two shapes that do not broadcast."""
    a, b = shapes
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            nd = max(len(a), len(b))
            return RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                                f"({y}) at non-singleton dimension {nd - i}")
    return RuntimeError("shapes do not broadcast")


def broadcast_tensors(*tensors) -> tuple:
    """Views of the tensors, all broadcast to their common shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = ()
    for t in tensors:
        try:
            shape = np.broadcast_shapes(shape, t._data.shape)
        except ValueError:
            raise _broadcast_error((shape, t._data.shape)) from None
    return tuple(t if t._data.shape == shape else expand(t, shape) for t in tensors)


# ---------------------------------------------------------------------------------------
# permutations

class Permute(Op):
    """Reorder dimensions (a view)."""

    is_view = True

    def forward(self, x, dims):
        self.dims = dims
        return x.transpose(dims)

    def backward(self, grad):
        return permute(grad, tuple(np.argsort(self.dims)))


class Transpose(Permute):
    """Two dimensions swapped (a ``Permute`` named like PyTorch's node)."""


@tensor_method
def permute(input: Tensor, *dims) -> Tensor:
    """A view with dimensions reordered: ``x.permute(2, 0, 1)``."""
    dims = _shape_arg(dims, "permute")
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}"
                           .replace("(sparse_coo)", ""))
    dims = tuple(_wrap_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims=dims)


@tensor_method
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with two dimensions swapped."""
    nd = input._data.ndim
    d0, d1 = _wrap_dim(dim0, nd), _wrap_dim(dim1, nd)
    dims = list(range(nd))
    if nd:
        dims[d0], dims[d1] = dims[d1], dims[d0]
    return Transpose.apply(input, dims=tuple(dims))


@tensor_method
def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """Alias of :func:`transpose`."""
    return transpose(input, axis0, axis1)


@tensor_method
def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Alias of :func:`transpose`."""
    return transpose(input, dim0, dim1)


@tensor_method
def movedim(input: Tensor, source, destination) -> Tensor:
    """A view with dimensions ``source`` moved to positions ``destination`` (the others keep
    their order)."""
    nd = input._data.ndim
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    s = [_wrap_dim(d, nd) for d in src]
    d = [_wrap_dim(v, nd) for v in dst]
    if len(set(s)) != len(s):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(src)})")
    if len(set(d)) != len(d):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(dst)})")
    order = [None] * nd
    for a, b in zip(s, d):
        order[b] = a
    rest = iter(i for i in range(nd) if i not in s)
    order = [o if o is not None else next(rest) for o in order]
    return Permute.apply(input, dims=tuple(order)) if nd else input


moveaxis = movedim
Tensor.moveaxis = movedim


@tensor_method
def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions (0-d and 1-d are returned as views)."""
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return transpose(input, 0, -1) if nd == 2 else Transpose.apply(input, dims=tuple(range(nd)))


@tensor_method
def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions (a view)."""
    nd = input._data.ndim
    if nd < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {nd}-D tensor.")
    r = transpose(input, -2, -1)
    if input._data.dtype.kind == "c":
        from . import elementwise
        r = elementwise.conj(r)
    return r


# ---------------------------------------------------------------------------------------
# squeeze / unsqueeze

class Squeeze(Op):
    """Drop size-1 dimensions (a view)."""

    is_view = True

    def forward(self, x, dims):
        self.in_shape = x.shape
        return np.squeeze(x, axis=dims) if dims else x.view()

    def backward(self, grad):
        return reshape(grad, self.in_shape)


class Unsqueeze(Op):
    """Insert a size-1 dimension (a view)."""

    is_view = True

    def forward(self, x, dim):
        self.in_shape = x.shape
        return np.expand_dims(x, dim)

    def backward(self, grad):
        return reshape(grad, self.in_shape)


@tensor_method
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dimensions of size 1: all of them, or only those in ``dim`` (an int or a tuple)
    that have size 1. A view."""
    shape = input._data.shape
    if dim is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        dims = tuple(d for d in _dims_arg(dim, len(shape)) if shape and shape[d] == 1)
    return Squeeze.apply(input, dims=dims)


@tensor_method
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A view with a size-1 dimension inserted at ``dim`` (in ``[-ndim-1, ndim]``)."""
    return Unsqueeze.apply(input, dim=_wrap_dim(dim, input._data.ndim + 1))


# ---------------------------------------------------------------------------------------
# in-place metadata changes: t_, transpose_, squeeze_, unsqueeze_, ...

def _inplace_view(self: Tensor, result: Tensor) -> Tensor:
    """Make ``self`` become ``result`` (a view of ``self``): same memory, new shape/strides,
    and for autograd the view's node."""
    check_inplace_allowed(self)
    self._data = result._data
    if result._requires_grad:
        self.grad_fn = result.grad_fn
        self._output_nr = result._output_nr
        self._requires_grad = True
    if self._base is not None:              # still a view of the same base
        self._view_fn = result._view_fn
    self._vc[0] += 1
    return self


def _make_inplace_view(fn, name):
    def method(self, *args, **kwargs):
        return _inplace_view(self, fn(self, *args, **kwargs))
    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`{fn.__name__}` (changes the shape)."
    setattr(Tensor, name, method)


for _f, _n in ((t, "t_"), (transpose, "transpose_"), (squeeze, "squeeze_"),
               (unsqueeze, "unsqueeze_"), (swapaxes, "swapaxes_"), (swapdims, "swapdims_")):
    _make_inplace_view(_f, _n)


# ---------------------------------------------------------------------------------------
# copies: clone, contiguous, repeat, tile, repeat_interleave

class Clone(Op):
    """A copy in new memory; gradient passes through. ``order='K'`` keeps the input's
    layout (torch's preserve_format: a transposed tensor's clone is transposed too),
    ``'C'`` makes it contiguous."""

    def forward(self, x, order="K"):
        return np.array(x, copy=True, order=order)

    def backward(self, grad):
        return grad


@tensor_method
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` in new memory (differentiable). By default the copy keeps the
    input's memory layout (``ember.preserve_format``); ``ember.contiguous_format`` makes it
    C-contiguous."""
    order = "K" if memory_format is None or repr(memory_format) == "ember.preserve_format" \
        else "C"
    return Clone.apply(input, order=order)


@tensor_method
def contiguous(input: Tensor, memory_format=None) -> Tensor:
    """``input`` itself when C-contiguous, else a contiguous copy."""
    if input._data.flags.c_contiguous:
        return input
    return Clone.apply(input, order="C")


class Repeat(Op):
    """Tile the tensor ``reps`` times along each dimension."""

    def forward(self, x, reps):
        lead = len(reps) - x.ndim
        self.in_shape = (1,) * lead + x.shape
        self.final_shape = x.shape
        self.reps = reps
        return np.tile(x.reshape(self.in_shape), reps)

    def backward(self, grad):
        # view the gradient as (r0, s0, r1, s1, ...) and sum over the repeat axes
        inter = tuple(v for r, s in zip(self.reps, self.in_shape) for v in (r, s))
        folded = sum_to_shape(reshape(grad, inter),
                              tuple(v for s in self.in_shape for v in (1, s)))
        return reshape(folded, self.final_shape)


@tensor_method
def repeat(input: Tensor, *sizes) -> Tensor:
    """Repeat the tensor along each dimension: ``x.repeat(2, 3)`` (a copy; ``sizes`` may have
    more entries than ``x`` has dimensions)."""
    reps = _shape_arg(sizes, "repeat")
    if len(reps) < input._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(reps)}: "
                           f"{list(reps)}")
    return Repeat.apply(input, reps=reps)


@tensor_method
def tile(input: Tensor, *dims) -> Tensor:
    """Like ``repeat``, but ``dims`` with fewer entries than dimensions is padded with ones
    at the front."""
    reps = _shape_arg(dims, "tile")
    nd = input._data.ndim
    if len(reps) < nd:
        reps = (1,) * (nd - len(reps)) + reps
    return repeat(input, reps)


@tensor_method
def repeat_interleave(input: Tensor, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or a tensor with one count per element
    along ``dim``). Without ``dim`` the input is flattened first.

    ``repeat_interleave(counts)`` alone returns ``[0]*counts[0] + [1]*counts[1] + ...``.
    """
    from .indexing import index_select
    if repeats is None:
        counts = _repeat_counts(input, None)
        return _wrap(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    if dim is None:
        input = reshape(input, (-1,))
        dim = 0
    nd = input._data.ndim
    d = _wrap_dim(dim, nd)
    n = input._data.shape[d] if nd else 1
    if isinstance(repeats, Tensor):
        counts = _repeat_counts(repeats, n)
    else:
        counts = int(repeats)
        if counts < 0:
            raise RuntimeError("Repeats must be non-negative")
    idx = np.repeat(np.arange(n, dtype=np.int64), counts)
    if output_size is not None and idx.size != output_size:
        raise RuntimeError(f"repeat_interleave: allocated size does not match required size "
                           f"(output_size={output_size}, required {idx.size})")
    if nd == 0:
        return index_select(reshape(input, (1,)), 0, _wrap(idx))
    return index_select(input, d, _wrap(idx))


def _repeat_counts(repeats: Tensor, n):
    # the counts decide the output's size: ember.onnx cannot trace them
    _trace_check("the repeats of ember.repeat_interleave(), which decide its output shape",
                 repeats)
    r = repeats._data
    if r.dtype.kind not in "iu":
        raise RuntimeError(f"repeat_interleave only accept 1D vector as repeat, and it should "
                           f"be an integer tensor, got {repeats.dtype}")
    if r.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    r = r.reshape(-1)
    if (r < 0).any():
        raise RuntimeError("repeats can not be negative")
    if n is not None:
        if r.size == 1:
            r = np.full(n, r[0])
        elif r.size != n:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {r.size} and input.size(0) = {n}")
    return r.astype(np.int64)


# ---------------------------------------------------------------------------------------
# slicing views: narrow, select, split, chunk, unbind

class Slice(GetItem):
    """``narrow``: a basic-slice view (GetItem under PyTorch's node name)."""


class Select(GetItem):
    """``select``: an integer index along one dimension (a view)."""


@tensor_method
def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The view ``input[..., start:start+length, ...]`` along ``dim``; ``start`` may be
    negative or a 0-d integer tensor."""
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, nd)
    n = input._data.shape[d]
    start, length = _int_arg(start), _int_arg(length)
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but "
                         f"got {start})")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if (start + n if start < 0 else start) + length > n:
        raise RuntimeError(f"start ({start + n if start < 0 else start}) + length ({length}) "
                           f"exceeds dimension size ({n}).")
    # a negative start stays counted from the end (so an ONNX export follows a dynamic size)
    stop = start + length if start >= 0 or start + length < 0 else None
    idx = (slice(None),) * d + (slice(start, stop),)
    return Slice.apply(input, index=idx, basic=True)


@tensor_method
def narrow_copy(input: Tensor, dim: int, start, length: int) -> Tensor:
    """Like :func:`narrow`, but a copy."""
    return Clone.apply(narrow(input, dim, start, length))


@tensor_method
def select(input: Tensor, dim: int, index) -> Tensor:
    """The view ``input[..., index, ...]`` along ``dim`` (that dimension is removed)."""
    nd = input._data.ndim
    if nd == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, nd)
    n = input._data.shape[d]
    i = _int_arg(index)
    if not -n <= i < n:
        raise IndexError(f"select(): index {i} out of range for tensor of size "
                         f"{list(input._data.shape)} at dimension {d}")
    idx = (slice(None),) * d + (i,)       # (negative: from the end, for ember.onnx too)
    return Select.apply(input, index=idx, basic=True)


class SplitWithSizes(Op):
    """Consecutive slices along ``dim`` (each output a view of the input); backward
    concatenates the output gradients."""

    def forward(self, x, dim, indices):
        self.dim = dim
        return tuple(x[i] for i in indices)

    def backward(self, *grads):
        return cat(grads, self.dim)


def _split_sizes(input, sizes, dim):
    """The outputs of splitting ``input`` along ``dim`` into consecutive ``sizes``; each a
    view of ``input`` (so in-place writes reach it)."""
    offs = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64))).tolist()
    indices = [(slice(None),) * dim + (slice(a, b),) for a, b in zip(offs[:-1], offs[1:])]
    outs = SplitWithSizes.apply(input, dim=dim, indices=indices)
    for o, idx in zip(outs, indices):
        _mark_view(o, input, Slice, {"index": idx, "basic": True})
    return outs


@tensor_method
def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into chunks of ``split_size_or_sections`` along ``dim`` (the last may be smaller),
    or into pieces of the listed sizes. The pieces are views."""
    nd = tensor._data.ndim
    if nd == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, nd)
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
        return _split_sizes(tensor, sizes, d)
    size = _int_arg(split_size_or_sections)
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size="
                           f"{size}")
    if size == 0:
        if n != 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        return _split_sizes(tensor, [0], d)
    k = max(1, -(-n // size))
    sizes = [size] * (k - 1) + [n - size * (k - 1)]
    return _split_sizes(tensor, sizes, d)


@tensor_method
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into at most ``chunks`` views of equal size ``ceil(n / chunks)`` along ``dim``
    (the last may be smaller, and there may be fewer)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, nd)
    n = input._data.shape[d]
    if n == 0:
        return _split_sizes(input, [0] * chunks, d)
    return split(input, -(-n // chunks), d)


@tensor_method
def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into ``sections`` nearly equal views (the first ``n % sections`` one longer), or
    at the given indices (a list, tuple or 1-d integer tensor; a 0-d tensor means
    sections)."""
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = _wrap_dim(dim, nd)
    n = input._data.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios._data.dtype.kind not in "iu":
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have "
                               f"integer dtype, but got {ios.dtype}")
        if ios._data.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a "
                               f"zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {ios._data.ndim} dims")
        _trace_check("the indices_or_sections tensor of ember.tensor_split(), read as Python "
                     "ints", ios)
        ios = int(ios._data) if ios._data.ndim == 0 else ios._data.tolist()
    if isinstance(ios, (int, np.integer)):
        k = int(ios)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        return _split_sizes(input, [q + 1] * r + [q] * (k - r), d)
    bounds = [min(max(int(i) if i >= 0 else int(i) + n, 0), n) for i in ios]
    starts, stops = [0] + bounds, bounds + [n]
    if all(a <= b for a, b in zip(starts[:-1], starts[1:])):
        return _split_sizes(input, [b - a for a, b in zip(starts, stops)], d)
    # indices that go backwards give overlapping pieces: each one its own slice view
    pre = (slice(None),) * d
    return tuple(Slice.apply(input, index=pre + (slice(a, max(a, b)),), basic=True)
                 for a, b in zip(starts, stops))


def _dir_split(input, ios, dim, name, min_dim):
    nd = input._data.ndim
    if nd < min_dim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dim} dimension, "
                           f"but got a tensor with {nd} dimensions!")
    if isinstance(ios, (int, np.integer)):
        n = input._data.shape[dim]
        if ios == 0 or n % ios:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {n} is not divisible by the split_size "
                               f"{ios}!")
    return tensor_split(input, ios, dim)


@tensor_method
def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 for 1-d tensors); int sections must divide."""
    return _dir_split(input, indices_or_sections, 1 if input._data.ndim > 1 else 0, "hsplit", 1)


@tensor_method
def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 0 of a tensor with at least 2 dimensions."""
    return _dir_split(input, indices_or_sections, 0, "vsplit", 2)


@tensor_method
def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 2 of a tensor with at least 3 dimensions."""
    return _dir_split(input, indices_or_sections, 2, "dsplit", 3)


class Unbind(Op):
    """Every index along ``dim`` as its own view; backward stacks the gradients."""

    def forward(self, x, dim):
        self.dim = dim
        pre = (slice(None),) * dim
        return tuple(x[pre + (i,)] for i in range(x.shape[dim]))

    def backward(self, *grads):
        return stack(grads, self.dim)


@tensor_method
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """A tuple of views, one per index along ``dim`` (which is removed)."""
    nd = input._data.ndim
    if nd == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = _wrap_dim(dim, nd)
    outs = Unbind.apply(input, dim=d)
    pre = (slice(None),) * d
    for i, o in enumerate(outs):
        _mark_view(o, input, Select, {"index": pre + (i,), "basic": True})
    return outs


# ---------------------------------------------------------------------------------------
# joining: cat, stack and friends

def _tensor_list(tensors, fn):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not Tensor")
    tensors = list(tensors)
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"{fn}(): argument 'tensors' (position 1) must be tuple of "
                            f"Tensors, but found element of type {type(x).__name__} at pos {i}")
    return tensors


def _promote_all(tensors):
    dt = _dtype.result_type(*[x.dtype for x in tensors])
    return [_cast(x, dt) for x in tensors], dt


class Cat(Op):
    """Concatenate along ``dim``; backward splits the gradient back into the pieces. Inputs
    flagged in ``skip`` (legacy 1-d empty tensors) take no part and get empty gradients."""

    def forward(self, *arrays, dim, skip):
        self.dim, self.skip = dim, skip
        kept = [a for a, s in zip(arrays, skip) if not s]
        self.sizes = [a.shape[dim] for a in kept]
        return np.concatenate(kept, axis=dim)

    def backward(self, grad):
        pieces = iter(_split_sizes(grad, self.sizes, self.dim))
        empty = _wrap(np.zeros((0,), dtype=grad._data.dtype))
        return tuple(empty if s else next(pieces) for s in self.skip)


def cat(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Concatenate tensors along an existing dimension ``dim``. The result has the promoted
    dtype of the inputs; 1-d empty tensors are skipped (PyTorch's legacy rule)."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if x._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    tensors, dt = _promote_all(tensors)
    keep = [(i, x) for i, x in enumerate(tensors) if x._data.shape != (0,)]
    if not keep:
        r = _wrap(np.zeros((0,), dtype=dt.np))
        return _out(r, out)
    ref = keep[0][1]
    nd = ref._data.ndim
    d = _wrap_dim(dim, nd)
    for i, x in keep[1:]:
        if x._data.ndim != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and "
                               f"{x._data.ndim}")
        for k in range(nd):
            if k != d and x._data.shape[k] != ref._data.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref._data.shape[k]} but got size {x._data.shape[k]} for tensor number "
                    f"{i} in the list.")
    skip = tuple(x._data.shape == (0,) for x in tensors)
    return _out(Cat.apply(*tensors, dim=d, skip=skip), out)


concat = cat


def concatenate(tensors, axis: int = 0, out=None) -> Tensor:
    """Alias of :func:`cat` (NumPy's argument name ``axis``)."""
    return cat(tensors, axis, out=out)


class Stack(Op):
    """Join equal-shaped tensors along a new dimension; backward unbinds the gradient."""

    def forward(self, *arrays, dim):
        self.dim = dim
        return np.stack(arrays, axis=dim)

    def backward(self, grad):
        return unbind(grad, self.dim)


def stack(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join equal-shaped tensors along a new dimension ``dim``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape0 = tensors[0]._data.shape
    for i, x in enumerate(tensors[1:], 1):
        if x._data.shape != shape0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape0)} at entry 0 and {list(x._data.shape)} at entry "
                               f"{i}")
    d = _wrap_dim(dim, len(shape0) + 1)
    tensors, _ = _promote_all(tensors)
    return _out(Stack.apply(*tensors, dim=d), out)


def _atleast(n, tensors, fn):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(x) for x in tensors[0])
    if len(tensors) == 1:
        return fn(tensors[0])
    return tuple(fn(x) for x in tensors)


def _at1(x):
    return reshape(x, (1,)) if x._data.ndim == 0 else x


def _at2(x):
    nd = x._data.ndim
    return reshape(x, (1, 1)) if nd == 0 else unsqueeze(x, 0) if nd == 1 else x


def _at3(x):
    nd = x._data.ndim
    if nd == 0:
        return reshape(x, (1, 1, 1))
    if nd == 1:
        return unsqueeze(unsqueeze(x, 0), -1)
    if nd == 2:
        return unsqueeze(x, -1)
    return x


def atleast_1d(*tensors):
    """Views with at least 1 dimension (0-d becomes shape ``(1,)``)."""
    return _atleast(1, tensors, _at1)


def atleast_2d(*tensors):
    """Views with at least 2 dimensions (1-d ``(n,)`` becomes ``(1, n)``)."""
    return _atleast(2, tensors, _at2)


def atleast_3d(*tensors):
    """Views with at least 3 dimensions (``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` ->
    ``(m, n, 1)``)."""
    return _atleast(3, tensors, _at3)


def hstack(tensors, *, out=None) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-d tensors)."""
    tensors = [_at1(x) for x in _tensor_list(tensors, "hstack")]
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None) -> Tensor:
    """Concatenate along dim 0 after making every tensor at least 2-d."""
    return cat([_at2(x) for x in _tensor_list(tensors, "vstack")], 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None) -> Tensor:
    """Concatenate along dim 2 after making every tensor at least 3-d."""
    return cat([_at3(x) for x in _tensor_list(tensors, "dstack")], 2, out=out)


def column_stack(tensors, *, out=None) -> Tensor:
    """Stack 0-d/1-d tensors as columns (``(n,)`` -> ``(n, 1)``) and concatenate along
    dim 1."""
    tensors = _tensor_list(tensors, "column_stack")
    cols = [reshape(x, (-1, 1)) if x._data.ndim <= 1 else x for x in tensors]
    return cat(cols, 1, out=out)


# ---------------------------------------------------------------------------------------
# flip, roll, rot90

class Flip(Op):
    """Reverse the order of elements along ``dims`` (a copy, as in PyTorch)."""

    def forward(self, x, dims):
        self.dims = dims
        # (always a copy: ascontiguousarray would return a flipped length-1 view as is)
        return np.array(np.flip(x, dims) if dims else x, order="C", copy=True)

    def backward(self, grad):
        return Flip.apply(grad, dims=self.dims)


@tensor_method
def flip(input: Tensor, *dims_args, dims=None) -> Tensor:
    """Reverse the order along the given dimensions (a copy): ``x.flip(0)``,
    ``torch.flip(x, (0, 1))``."""
    d = dims if dims is not None else dims_args[0] if len(dims_args) == 1 else dims_args
    return Flip.apply(input, dims=_dims_arg(d, input._data.ndim))


@tensor_method
def fliplr(input: Tensor) -> Tensor:
    """Flip dimension 1 (the input must be at least 2-d)."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return Flip.apply(input, dims=(1,))


@tensor_method
def flipud(input: Tensor) -> Tensor:
    """Flip dimension 0 (the input must be at least 1-d)."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return Flip.apply(input, dims=(0,))


class Roll(Op):
    """Shift elements cyclically (a copy); ``dims=None`` rolls the flattened tensor."""

    def forward(self, x, shifts, dims):
        self.shifts, self.dims = shifts, dims
        return np.roll(x, shifts, axis=dims)

    def backward(self, grad):
        neg = -self.shifts if self.dims is None else tuple(-s for s in self.shifts)
        return Roll.apply(grad, shifts=neg, dims=self.dims)


@tensor_method
def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Roll elements along ``dims`` by ``shifts`` (ints or tuples of equal length); without
    ``dims`` the tensor is flattened, rolled and restored."""
    sh = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(sh) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:0")
        return Roll.apply(input, shifts=sh[0], dims=None)
    dm = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(sh) != len(dm):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:"
                           f"{len(dm)}")
    nd = input._data.ndim
    return Roll.apply(input, shifts=sh, dims=tuple(_wrap_dim(d, nd) for d in dm))


@tensor_method
def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane ``dims``, from the first towards the
    second axis (a copy)."""
    dims = tuple(dims)
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = _wrap_dim(dims[0], nd), _wrap_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(Flip.apply(input, dims=(d1,)), d0, d1)
    if k == 2:
        return Flip.apply(input, dims=(d0, d1))
    if k == 3:
        return transpose(Flip.apply(input, dims=(d0,)), d0, d1)
    return Clone.apply(input)


# ---------------------------------------------------------------------------------------
# diagonals and triangles

def _diag_geometry(shape, offset, d1, d2):
    """Length of the diagonal and the index at which it starts in dims d1 and d2."""
    n1, n2 = shape[d1], shape[d2]
    if offset >= 0:
        length = max(0, min(n1, n2 - offset))
        start = (0, offset)
    else:
        length = max(0, min(n1 + offset, n2))
        start = (-offset, 0)
    return length, start


def _diag_view(x: np.ndarray, offset, d1, d2) -> np.ndarray:
    """A writable NumPy view of a diagonal: the other dims in order, then the diagonal.
    (``np.diagonal`` returns a read-only view; PyTorch's diagonal can be written to.)"""
    length, (s1, s2) = _diag_geometry(x.shape, offset, d1, d2)
    if length:
        idx = [slice(None)] * x.ndim
        idx[d1], idx[d2] = slice(s1, None), slice(s2, None)
        x = x[tuple(idx)]
    rest = [i for i in range(x.ndim) if i not in (d1, d2)]
    shape = tuple(x.shape[i] for i in rest) + (length,)
    strides = tuple(x.strides[i] for i in rest) + (x.strides[d1] + x.strides[d2],)
    return np.lib.stride_tricks.as_strided(x, shape, strides)


def _diag_dims(ndim, dim1, dim2):
    d1, d2 = _wrap_dim(dim1, ndim), _wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


class Diagonal(Op):
    """The diagonal of dims (d1, d2) as the last dimension (a view)."""

    is_view = True

    def forward(self, x, offset, d1, d2):
        self.in_shape = x.shape
        self.args = (offset, d1, d2)
        return _diag_view(x, offset, d1, d2)

    def backward(self, grad):
        offset, d1, d2 = self.args
        return DiagonalScatter.apply(grad, shape=self.in_shape, offset=offset, d1=d1, d2=d2)


class DiagonalScatter(Op):
    """Zeros of ``shape`` with ``src`` on the diagonal of dims (d1, d2) (``diag_embed`` and
    the gradient of ``diagonal``)."""

    def forward(self, src, shape, offset, d1, d2):
        self.args = (offset, d1, d2)
        out = np.zeros(shape, dtype=src.dtype)
        _diag_view(out, offset, d1, d2)[...] = src
        return out

    def backward(self, grad):
        offset, d1, d2 = self.args
        return Diagonal.apply(grad, offset=offset, d1=d1, d2=d2)

    def name(self):
        return "DiagEmbedBackward0"


@tensor_method
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal (``offset`` above the main one; negative: below) of the planes
    ``(dim1, dim2)``, appended as the last dimension. A view."""
    nd = input._data.ndim
    if nd < 2:
        raise RuntimeError(f"diagonal dimensions requires at least 2 dims, but got {nd}")
    d1, d2 = _diag_dims(nd, dim1, dim2)
    return Diagonal.apply(input, offset=int(offset), d1=d1, d2=d2)


@tensor_method
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose diagonals (in the planes ``(dim1, dim2)``) are the last dimension of
    ``input``; zeros elsewhere."""
    nd = input._data.ndim + 1
    d1, d2 = _diag_dims(nd, dim1, dim2)
    n = (input._data.shape[-1] if input._data.ndim else 1) + abs(int(offset))
    src = input if input._data.ndim else reshape(input, (1,))
    rest = iter(src._data.shape[:-1])
    shape = tuple(n if i in (d1, d2) else next(rest) for i in range(nd))
    return DiagonalScatter.apply(src, shape=shape, offset=int(offset), d1=d1, d2=d2)


@tensor_method
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-d tensor becomes a square matrix with it on diagonal ``diagonal``; a matrix gives
    a copy of that diagonal."""
    nd = input._data.ndim
    if nd == 1:
        return diag_embed(input, diagonal, 0, 1)
    if nd == 2:
        return Clone.apply(Diagonal.apply(input, offset=int(diagonal), d1=0, d2=1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


@tensor_method
def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened input as the diagonal ``offset`` of a square matrix."""
    return diag_embed(reshape(input, (-1,)), offset, 0, 1)


class Trace(Op):
    """Sum of the main diagonal of a matrix (integers sum to int64)."""

    def forward(self, x):
        self.in_shape = x.shape
        dt = np.int64 if x.dtype.kind in "biu" else x.dtype
        return np.asarray(np.trace(x, dtype=dt))

    def backward(self, grad):
        n = min(self.in_shape)
        return DiagonalScatter.apply(expand(grad, (n,)), shape=self.in_shape, offset=0, d1=0,
                                     d2=1)


@tensor_method
def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-d tensor."""
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim "
                           f"{input._data.ndim}")
    return Trace.apply(input)


class Tril(Op):
    """Keep the lower (``upper=False``) or upper triangle of the last two dims."""

    def forward(self, x, diagonal, upper):
        self.diagonal, self.upper = diagonal, upper
        return np.triu(x, diagonal) if upper else np.tril(x, diagonal)

    def backward(self, grad):
        return type(self).apply(grad, diagonal=self.diagonal, upper=self.upper)

    def name(self):
        return "TriuBackward0" if self.upper else "TrilBackward0"


def _tri(input, diagonal, upper):
    if input._data.ndim < 2:
        raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 "
                           f"dimensions")
    return Tril.apply(input, diagonal=int(diagonal), upper=upper)


@tensor_method
def tril(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The lower triangle (on and below diagonal ``diagonal``) of the last two dims; zeros
    elsewhere."""
    return _out(_tri(input, diagonal, False), out)


@tensor_method
def triu(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The upper triangle (on and above diagonal ``diagonal``) of the last two dims; zeros
    elsewhere."""
    return _out(_tri(input, diagonal, True), out)


def _tril_(self, diagonal=0):
    return inplace_update(self, _tri(self, diagonal, False))


def _triu_(self, diagonal=0):
    return inplace_update(self, _tri(self, diagonal, True))


Tensor.tril_ = _tril_
Tensor.triu_ = _triu_


# ---------------------------------------------------------------------------------------
# scatter into views: select_scatter, slice_scatter, diagonal_scatter

class ViewScatter(Op):
    """A copy of ``input`` with the region ``region(out)`` replaced by ``src``. Backward: the
    region of the gradient goes to ``src``, the rest to ``input``."""

    def forward(self, x, src, region, view):
        self.region, self.view = region, view
        out = x.copy()
        region(out)[...] = src
        return out

    def backward(self, grad):
        gx = gs = None
        if self.needs_input_grad[0]:
            mask = np.ones(grad._data.shape, dtype=grad._data.dtype)
            self.region(mask)[...] = 0
            gx = grad * _wrap(mask)
        if self.needs_input_grad[1]:
            gs = self.view(grad)
        return gx, gs


def _view_scatter(input, src, region, view, what):
    target = region(input._data)
    if src._data.shape != target.shape:
        raise RuntimeError(f"{what}: expected src to have a size equal to the slice of self. "
                           f"src size = {list(src._data.shape)}, slice size = "
                           f"{list(target.shape)}")
    if src.dtype is not input.dtype:
        src = _cast(src, input.dtype)
    return ViewScatter.apply(input, src, region=region, view=view)


@tensor_method
def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``input.select(dim, index)`` replaced by ``src``."""
    select(input, dim, index)                # validates dim and index
    d = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    i = int(index) + n if int(index) < 0 else int(index)
    idx = (slice(None),) * d + (i,)
    return _view_scatter(input, src, lambda a: a[idx], lambda g: select(g, d, i),
                         "select_scatter")


@tensor_method
def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None,
                  step: int = 1) -> Tensor:
    """A copy of ``input`` with ``input[..., start:end:step, ...]`` (along ``dim``) replaced
    by ``src``."""
    d = _wrap_dim(dim, input._data.ndim)
    idx = (slice(None),) * d + (slice(start, end, step),)
    return _view_scatter(input, src, lambda a: a[idx],
                         lambda g: GetItem.apply(g, index=idx, basic=True), "slice_scatter")


@tensor_method
def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``."""
    d1, d2 = _diag_dims(input._data.ndim, dim1, dim2)
    return _view_scatter(input, src, lambda a: _diag_view(a, offset, d1, d2),
                         lambda g: diagonal(g, offset, d1, d2), "diagonal_scatter")


# ---------------------------------------------------------------------------------------
# meshgrid, cartesian_prod

def meshgrid(*tensors, indexing=None) -> tuple:
    """Coordinate grids from 1-d tensors: with ``indexing='ij'`` output ``k`` varies along
    dim ``k``; ``'xy'`` swaps the first two dimensions. Outputs are expanded views."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f'received: {indexing}')
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for x in tensors:
        if x._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {x}")
    dt0 = tensors[0].dtype
    for x in tensors[1:]:
        if x.dtype is not dt0:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    vecs = [reshape(x, (-1,)) for x in tensors]
    swap = indexing == "xy" and len(vecs) >= 2
    order = list(range(len(vecs)))
    if swap:
        order[0], order[1] = 1, 0
    shape = tuple(vecs[i]._data.shape[0] for i in order)
    outs = []
    for k, v in enumerate(vecs):
        pos = order.index(k)
        s = [1] * len(vecs)
        s[pos] = -1
        outs.append(expand(reshape(v, tuple(s)), shape))
    return tuple(outs)


def cartesian_prod(*tensors) -> Tensor:
    """All combinations of elements of 1-d tensors as rows of an ``(N, len(tensors))``
    tensor (a single tensor is returned as is)."""
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


# ---------------------------------------------------------------------------------------
# strided views: as_strided, unfold

def _positions(shape, strides, offset=0) -> np.ndarray:
    """The storage position (in elements) of every element of a strided layout."""
    pos = np.full((1,) * len(shape), offset, dtype=np.int64)
    for i, (n, s) in enumerate(zip(shape, strides)):
        ax = [1] * len(shape)
        ax[i] = n
        pos = pos + (np.arange(n, dtype=np.int64) * s).reshape(ax)
    return np.broadcast_to(pos, shape)


def _owner(arr: np.ndarray) -> np.ndarray:
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


class AsStrided(Op):
    """A view with explicit sizes and strides (in elements) into the memory of ``x``,
    starting ``rel`` elements from x's first element."""

    is_view = True

    def forward(self, x, size, stride, rel):
        item = x.itemsize
        self.in_pos = _positions(x.shape, tuple(s // item for s in x.strides))
        self.out_pos = _positions(size, stride, rel)
        if not math.prod(size):
            return np.lib.stride_tricks.as_strided(x, size, tuple(s * item for s in stride))
        buf = _owner(x)
        start = x.__array_interface__["data"][0] - buf.__array_interface__["data"][0]
        if not buf.flags.c_contiguous:
            if not x.flags.c_contiguous:
                raise RuntimeError("as_strided: the input's memory is not contiguous")
            buf, start = x, 0
        lo, hi = int(self.out_pos.min()), int(self.out_pos.max())
        if start + lo * item < 0 or start + (hi + 1) * item > buf.nbytes:
            raise RuntimeError(
                f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                f"{start // item + rel}, and itemsize {item} requiring a storage size of "
                f"{start + (hi + 1) * item} are out of bounds for storage of size {buf.nbytes}")
        return np.ndarray(size, dtype=x.dtype, buffer=buf, offset=start + rel * item,
                          strides=tuple(s * item for s in stride))

    def backward(self, grad):
        # scatter the gradient into the storage, then read the input's elements from it
        from .indexing import scatter_add_flat, take_flat
        lo = min(int(self.in_pos.min(initial=0)), int(self.out_pos.min(initial=0)))
        hi = max(int(self.in_pos.max(initial=0)), int(self.out_pos.max(initial=0)))
        storage = scatter_add_flat(grad, self.out_pos - lo, (hi - lo + 1,))
        return take_flat(storage, self.in_pos - lo)


@tensor_method
def as_strided(input: Tensor, size, stride, storage_offset=None) -> Tensor:
    """A view of the input's memory with the given ``size`` and ``stride`` (in elements),
    starting at ``storage_offset`` (default: the input's own)."""
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    own = input.storage_offset()
    rel = 0 if storage_offset is None else int(storage_offset) - own
    return AsStrided.apply(input, size=size, stride=stride, rel=rel)


def _as_strided_(self, size, stride, storage_offset=None):
    return _inplace_view(self, as_strided(self, size, stride, storage_offset))


as_strided_ = _as_strided_
Tensor.as_strided_ = _as_strided_


class Unfold(Op):
    """Sliding windows of ``size`` with ``step`` along ``dim``, as a new last dimension
    (a view; windows may overlap, so backward adds)."""

    is_view = True

    def forward(self, x, dim, size, step):
        self.in_shape = x.shape
        if x.ndim == 0:
            return x.reshape(1)
        count = (x.shape[dim] - size) // step + 1
        shape = x.shape[:dim] + (count,) + x.shape[dim + 1:] + (size,)

        def geometry(st):
            return st[:dim] + (st[dim] * step,) + st[dim + 1:] + (st[dim],)
        # the element of x each output element reads, as a flat C-order index into x
        c_strides = tuple(int(v) for v in np.cumprod((1,) + x.shape[:0:-1])[::-1])
        self.pos = _positions(shape, geometry(c_strides))
        return np.lib.stride_tricks.as_strided(x, shape, geometry(x.strides))

    def backward(self, grad):
        from .indexing import scatter_add_flat
        if not self.in_shape:
            return reshape(grad, ())
        return scatter_add_flat(grad, self.pos, self.in_shape)


@tensor_method
def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """All windows of length ``size`` taken every ``step`` along ``dimension``, as a view
    with the window as a new last dimension."""
    nd = input._data.ndim
    d = _wrap_dim(dimension, nd)
    n = input._data.shape[d] if nd else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is "
                           f"{size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    return Unfold.apply(input, dim=d, size=int(size), step=int(step))


# ---------------------------------------------------------------------------------------
# in-place fills and copies

@tensor_method
def fill_(input: Tensor, value) -> Tensor:
    """Fill with ``value`` (a number or a 0-d tensor, whose gradient is then the sum of the
    incoming gradient)."""
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value._data.ndim} dimensions.")
    return inplace_update(input, _overwrite_value(input, value), check_cast=False)


def _overwrite_value(target: Tensor, value):
    """The value an overwriting in-place op (fill_, zero_, copy_) writes. When autograd
    records, it is a node depending on the old target too (with a zero gradient), so that
    the target keeps requiring grad afterwards, as in PyTorch."""
    from ..autograd.grad_mode import STATE
    if not (STATE.enabled and target._requires_grad):
        return value
    from .indexing import MaskedFill
    if isinstance(value, Tensor):
        value = _cast(value, target.dtype)
    else:
        value = np.asarray(value).astype(target._data.dtype)
    return MaskedFill.apply(target, value, mask=np.broadcast_to(True, target._data.shape))


def fill(input: Tensor, value) -> Tensor:
    """A new tensor like ``input`` filled with ``value`` (differentiable in a tensor value)."""
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"fill only supports 0-dimension value tensor but got tensor "
                               f"with {value._data.ndim} dimensions.")
        value = _cast(value, input.dtype)
    else:
        value = np.asarray(value).astype(input._data.dtype)
    from .indexing import MaskedFill
    # a fill of every element: the input gets a zero gradient, a tensor value the sum
    return MaskedFill.apply(input, value, mask=np.broadcast_to(True, input._data.shape))


@tensor_method
def zero_(input: Tensor) -> Tensor:
    """Fill with zeros, in place."""
    return inplace_update(input, _overwrite_value(input, 0), check_cast=False)


def _copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor, in place;
    the gradient flows to ``src``."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' (position 1) must be Tensor, not "
                        f"{type(src).__name__}")
    ts, ss = self._data.shape, src._data.shape
    if any(a != b and b != 1 for a, b in zip(ts[::-1], ss[::-1])):
        raise _broadcast_error((ts, ss))
    if len(ss) > len(ts):
        raise RuntimeError(f"output with shape {list(ts)} doesn't match the broadcast shape "
                           f"{list(np.broadcast_shapes(ts, ss))}")
    return inplace_update(self, _overwrite_value(self, src), check_cast=False)


Tensor.copy_ = _copy_
