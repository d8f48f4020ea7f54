"""Shape and view operations: reshape, expand, permute, squeeze, cat, split, ...

View operations return tensors that share memory with their input (NumPy views), so writing
into one changes the other, as in PyTorch; ``Op.is_view`` records that (see ``_op.py``).
"""
from __future__ import annotations

import numpy as np

from .._size import Size
from .._tensor import _wrap_dim
from ._op import Op, Tensor, tensor_method

__all__ = ["reshape", "view", "expand", "permute", "transpose"]


def _shape_arg(shape, fn="view"):
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and ``f(Size)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{fn}(): argument 'size' must be tuple of ints, but found element of "
                        f"type {type(next(s for s in shape if not isinstance(s, int))).__name__}"
                        ) from None


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
def view(input: Tensor, *shape) -> Tensor:
    """A view with a new shape; raises if the memory layout does not allow one. With a dtype
    argument, reinterprets the bytes."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        from .._dtype import as_dtype
        dt = as_dtype(shape[0])
        return _wrap(input._data.view(dt.np))
    return Reshape.apply(input, shape=_shape_arg(shape), must_view=True)


class Expand(Op):
    """Broadcast to a larger shape without copying (size-1 dims repeat with stride 0)."""

    is_view = True

    def forward(self, x, shape):
        self.in_shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(self, grad):
        return grad                           # the engine sums it back to in_shape


def _expand_shape(in_shape, sizes):
    if len(sizes) < len(in_shape):
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(in_shape)}}}, size={list(sizes)}): "
                           "the number of sizes provided "
                           f"({len(sizes)}) must be greater or equal to the number of dimensions "
                           f"in the tensor ({len(in_shape)})")
    lead = len(sizes) - len(in_shape)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   "leading, non-existing dimension 0")
            out.append(s)
            continue
        cur = in_shape[i - lead]
        if s == -1:
            out.append(cur)
        elif cur == 1 or cur == s:
            out.append(s)
        else:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({cur}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(in_shape)}")
    return tuple(out)


@tensor_method
def expand(input: Tensor, *sizes) -> Tensor:
    """A view broadcast to ``sizes`` (-1 keeps a dimension)."""
    shape = _expand_shape(input._data.shape, _shape_arg(sizes, "expand"))
    if shape == input._data.shape:
        return Expand.apply(input, shape=shape)
    return Expand.apply(input, shape=shape)


class Permute(Op):
    """Reorder dimensions (a view)."""

    is_view = True

    def forward(self, x, dims):
        self.dims = dims
        return x.transpose(dims)

    def backward(self, grad):
        return permute(grad, tuple(np.argsort(self.dims)))


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
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(input, dims=tuple(dims))
