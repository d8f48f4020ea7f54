"""Linear algebra: products (matmul, mm, bmm, einsum, tensordot, ...), decompositions
(svd, qr, eigh, cholesky, ...), solvers, inverses, determinants and norms.

The top-level functions here become ``ember.<name>``; ``ember/linalg.py`` gathers the
``torch.linalg``-style names. Each primitive is an ``Op`` whose forward calls NumPy (batched
over leading dimensions: NumPy's ``linalg`` routines and ``matmul`` broadcast over stacks)
and whose backward is written with ember operations, so gradients of gradients work.

Conventions in the backward formulas: ``A^T`` is ``_mT(A)`` (the transpose of the last two
dimensions, conjugated for complex tensors), gradients are returned in the broadcast shape
and the engine sums them back to each input's shape.
"""
from __future__ import annotations

import math
import string
import warnings
from collections import namedtuple

import numpy as np

from .. import _dtype
from .._tensor import _wrap_dim
from ._op import Op, Tensor, _wrap, tensor_method
from .elementwise import add, sub, mul, div, neg, _out
from .inplace import inplace_update
from .shape import reshape, expand, permute

__all__ = [
    "matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "inner", "addmm", "addmv",
    "addbmm", "baddbmm", "addr", "einsum", "tensordot", "kron", "cross", "chain_matmul",
    "svd", "det", "inverse", "pinverse", "cholesky", "cholesky_solve", "cholesky_inverse",
    "logdet", "slogdet", "matrix_power", "matrix_exp", "qr", "triangular_solve",
]


class LinAlgError(RuntimeError):
    """A linear algebra routine failed on its input (singular matrix, not positive
    definite, ...): ``ember.linalg.LinAlgError``, a ``RuntimeError`` as in PyTorch."""


def _rt(name, fields):
    cls = namedtuple(name, fields)
    cls.__module__ = "ember.return_types"
    return cls


_linalg_svd = _rt("linalg_svd", "U S Vh")
_svd = _rt("svd", "U S V")
_linalg_qr = _rt("linalg_qr", "Q R")
_qr = _rt("qr", "Q R")
_linalg_eigh = _rt("linalg_eigh", "eigenvalues eigenvectors")
_linalg_eig = _rt("linalg_eig", "eigenvalues eigenvectors")
_linalg_slogdet = _rt("linalg_slogdet", "sign logabsdet")
_slogdet = _rt("slogdet", "sign logabsdet")
_linalg_inv_ex = _rt("linalg_inv_ex", "inverse info")
_linalg_cholesky_ex = _rt("linalg_cholesky_ex", "L info")
_linalg_solve_ex = _rt("linalg_solve_ex", "result info")
_linalg_lstsq = _rt("linalg_lstsq", "solution residuals rank singular_values")
_triangular_solve = _rt("triangular_solve", "solution cloned_coefficient")


# ---------------------------------------------------------------------------------------
# dtype names as PyTorch's messages spell them

_SCALAR_NAME = {"float32": "Float", "float64": "Double", "float16": "Half",
                "bfloat16": "BFloat16", "int64": "Long", "int32": "Int", "int16": "Short",
                "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
                "complex128": "ComplexDouble"}
_CPP_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half",
             "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
             "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
             "bool": "bool", "complex64": "c10::complex<float>",
             "complex128": "c10::complex<double>"}


def _sname(x):
    return _SCALAR_NAME.get(x._data.dtype.name, x._data.dtype.name)


def _cname(x):
    return _CPP_NAME.get(x._data.dtype.name, x._data.dtype.name)


def _shape_str(shape, sep="x"):
    return sep.join(str(s) for s in shape)


def _check_tensor(x, fn, arg, pos):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _broadcast_shapes(sa, sb):
    """PyTorch's ``infer_size``: broadcast two shapes, naming the clashing dimension."""
    n = max(len(sa), len(sb))
    out = []
    for i in range(n):
        a = sa[i - n + len(sa)] if i - n + len(sa) >= 0 else 1
        b = sb[i - n + len(sb)] if i - n + len(sb) >= 0 else 1
        if a != b and a != 1 and b != 1:
            raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                               f"({b}) at non-singleton dimension {i}")
        out.append(b if a == 1 else a)
    return tuple(out)


def _is_complex(x):
    return x._data.dtype.kind == "c"


# ---------------------------------------------------------------------------------------
# Small private primitives the backward formulas are written with (their own backward is in
# ember ops too, so every formula below can be differentiated again).

def _mT(x):
    """Transpose of the last two dims; the conjugate transpose for complex tensors."""
    nd = x._data.ndim
    dims = tuple(range(nd - 2)) + (nd - 1, nd - 2)
    t = permute(x, dims)
    return _conj(t) if _is_complex(x) else t


class _Conj(Op):
    def forward(self, x):
        return np.conj(x)

    def backward(self, grad):
        return _Conj.apply(grad)


class _Real(Op):
    """The real part, as a complex tensor (imaginary part zeroed)."""

    def forward(self, x):
        return x.real.astype(x.dtype)

    def backward(self, grad):
        return _Real.apply(grad)


def _conj(x):
    return _Conj.apply(x) if _is_complex(x) else x


class _Sum(Op):
    """Sum over ``axes`` (keeping them when ``keepdim``)."""

    def forward(self, x, axes, keepdim):
        self.in_shape = x.shape
        self.axes, self.keepdim = axes, keepdim
        return np.asarray(np.sum(x, axis=axes, keepdims=keepdim))

    def backward(self, grad):
        if not self.keepdim:
            shape = list(self.in_shape)
            for a in self.axes:
                shape[a] = 1
            grad = reshape(grad, tuple(shape))
        return expand(grad, self.in_shape)


def _sum(x, axes, keepdim=False):
    nd = x._data.ndim
    if isinstance(axes, int):
        axes = (axes,)
    return _Sum.apply(x, axes=tuple(a % nd for a in axes), keepdim=keepdim)


class _Abs(Op):
    save_inputs = (0,)

    def forward(self, x):
        return np.abs(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return mul(grad, np.sign(x._data))        # the sign is locally constant


class _PowScalar(Op):
    """``x ** p`` for a Python number ``p``."""
    save_inputs = (0,)

    def forward(self, x, p):
        self.p = p
        return np.power(x, x.dtype.type(p))

    def backward(self, grad):
        (x,) = self.saved_tensors
        return mul(grad, mul(_PowScalar.apply(x, p=self.p - 1), self.p))


class _Extreme(Op):
    """``amax``/``amin`` over one axis; ties share the gradient evenly (as PyTorch)."""
    save_inputs = (0,)
    save_outputs = (0,)

    def forward(self, x, axis, largest, keepdim):
        self.axis, self.keepdim = axis, keepdim
        return (np.max if largest else np.min)(x, axis=axis, keepdims=keepdim)

    def backward(self, grad):
        x, y = self.saved_tensors
        yk = y._data if self.keepdim else np.expand_dims(y._data, self.axis)
        mask = (x._data == yk).astype(x._data.dtype)
        mask /= mask.sum(axis=self.axis, keepdims=True)
        if not self.keepdim:
            grad = reshape(grad, yk.shape)
        return mul(grad, mask)


def _amax(x, axis, keepdim=False):
    return _Extreme.apply(x, axis=axis % x._data.ndim, largest=True, keepdim=keepdim)


def _amin(x, axis, keepdim=False):
    return _Extreme.apply(x, axis=axis % x._data.ndim, largest=False, keepdim=keepdim)


class _Diagonal(Op):
    """The main diagonal of the last two dims (a copy): (..., n, n) -> (..., n)."""

    def forward(self, x):
        return np.diagonal(x, axis1=-2, axis2=-1).copy()

    def backward(self, grad):
        return _DiagEmbed.apply(grad)


class _DiagEmbed(Op):
    """(..., n) -> (..., n, n) with the input on the diagonal."""

    def forward(self, x):
        n = x.shape[-1]
        out = np.zeros(x.shape + (n,), dtype=x.dtype)
        idx = np.arange(n)
        out[..., idx, idx] = x
        return out

    def backward(self, grad):
        return _Diagonal.apply(grad)


def _diag(x):
    return _Diagonal.apply(x)


def _diag_embed(x):
    return _DiagEmbed.apply(x)


def _tril_mask(n, m, k, dtype):
    return np.tril(np.ones((n, m), dtype=dtype), k)


def _tril(x, k=0):
    """Lower triangle of the last two dims (zero elsewhere): a product with a 0/1 mask."""
    n, m = x._data.shape[-2:]
    return mul(x, _tril_mask(n, m, k, x._data.dtype))


def _triu(x, k=0):
    n, m = x._data.shape[-2:]
    return mul(x, 1 - _tril_mask(n, m, k - 1, x._data.dtype))


def _unsq(x, axis):
    """Insert a size-1 dimension (via reshape)."""
    shape = list(x._data.shape)
    axis = axis % (len(shape) + 1)
    shape.insert(axis, 1)
    return reshape(x, tuple(shape))


def _sq(x, axis):
    shape = list(x._data.shape)
    del shape[axis]
    return reshape(x, tuple(shape))


class _MultiOut(Op):
    """An op with several outputs whose backward wants ``None`` (not zeros) for the outputs
    that received no gradient, to skip the terms they would contribute."""

    def _backward(self, grads):
        n_in = len(self.next_functions)
        if all(g is None for g in grads):
            return (None,) * n_in
        result = self.backward(*grads)
        if type(result) is not tuple:
            result = (result,)
        return result


# ---------------------------------------------------------------------------------------
# matmul family

class MatMul(Op):
    """``np.matmul`` with PyTorch's 1-D rules: a 1-D first operand is a row vector, a 1-D
    second operand a column vector, and the added dimension is removed from the result."""
    save_inputs = (0, 1)

    def forward(self, a, b):
        na, nb = a.ndim, b.ndim
        self.nd = (na, nb)
        if na > 2 and nb <= 2 and a.flags.c_contiguous:
            # (..., n, k) @ (k, m): one large GEMM instead of one per batch entry
            out = np.matmul(a.reshape(-1, a.shape[-1]), b)
            return out.reshape(a.shape[:-1] + b.shape[1:])
        return np.matmul(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        na, nb = self.nd
        need_a, need_b = self.needs_input_grad
        if na == 1 and nb == 1:                       # dot product: grad is 0-d
            return (mul(grad, _conj(b)) if need_a else None,
                    mul(grad, _conj(a)) if need_b else None)
        # lift 1-D operands to matrices, and the gradient to the matching matrix shape
        a2 = a if na > 1 else _unsq(a, 0)
        b2 = b if nb > 1 else _unsq(b, 1)
        g2 = grad
        if na == 1:
            g2 = _unsq(g2, -2)
        if nb == 1:
            g2 = _unsq(g2, -1)
        ga = gb = None
        if need_a:
            if na == 2 and _transposed(a._data):
                # a is a transposed view (x.t() @ w): produce the gradient in the layout of
                # the tensor it came from, so the view's backward yields contiguous memory
                ga = _mT(MatMul.apply(b2, _mT(g2)))
            else:
                ga = MatMul.apply(g2, _mT(b2))        # (..., n, k); 1-D a sums the row dim
        if need_b:
            k, m = a2._data.shape[-1], g2._data.shape[-1]
            if nb <= 2 and na > 2:
                # fold the batch into the rows: one GEMM, and the result has b's shape
                a2, g2 = reshape(a2, (-1, k)), reshape(g2, (-1, m))
            if nb == 2 and a2._data.ndim == 2 and _transposed(b._data):
                gb = _mT(MatMul.apply(_mT(g2), a2))   # x @ w.t(): w's grad, w's layout
            else:
                gb = MatMul.apply(_mT(a2), g2)
            if nb == 1:
                gb = _sq(gb, -1)
        return ga, gb

    def name(self):
        na, nb = self.nd
        if na == nb == 1:
            return "DotBackward0"
        if na == 2 and nb == 1:
            return "MvBackward0"
        if na == nb == 2:
            return "MmBackward0"
        if na == nb == 3:
            return "BmmBackward0"
        return "MatmulBackward0"


def _transposed(arr):
    """A 2-D array laid out as the transpose of a contiguous one (what ``w.t()`` gives)."""
    return arr.ndim == 2 and arr.flags.f_contiguous and not arr.flags.c_contiguous


def _check_matmul(x, y):
    """Validate ``x @ y`` (both at least 1-D) with the message PyTorch gives for the kernel
    its matmul dispatches to."""
    a, b = x._data, y._data
    na, nb = a.ndim, b.ndim
    if a.dtype != b.dtype:
        if na == 1 and nb == 1:
            msg = (f"dot : expected both vectors to have same dtype, but found {_sname(x)} and "
                   f"{_sname(y)}")
        elif nb == 1:
            msg = (f"addmv input tensors must have the same dtype, but got {_sname(y)}, "
                   f"{_sname(x)}, and {_sname(y)}")
        elif nb == 2:
            msg = (f"expected m1 and m2 to have the same dtype, but got: {_cname(x)} != "
                   f"{_cname(y)}")
        else:
            msg = f"expected scalar type {_sname(x)} but found {_sname(y)}"
        raise RuntimeError(msg)
    if a.dtype == np.bool_:
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    ka = a.shape[-1]
    kb = b.shape[-2] if nb > 1 else b.shape[0]
    if nb > 2:
        batch = _broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if ka == kb:
        return
    rows = int(np.prod(a.shape[:-1], dtype=np.int64))
    if na == 1 and nb == 1:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{ka}] and src [{kb}] to "
                           f"have the same number of elements, but got {ka} and {kb} elements "
                           "respectively")
    if nb == 1:
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{ka}), vec ({kb})")
    if nb == 2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{ka} and "
                           f"{kb}x{b.shape[-1]})")
    nbatch = int(np.prod(batch, dtype=np.int64))
    raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                       f"[{nbatch}, {ka}] but got: [{nbatch}, {kb}].")


@tensor_method
def matmul(input, other, *, out=None) -> Tensor:
    """Matrix product with broadcasting, as ``torch.matmul``.

    1-D x 1-D is a dot product (0-d result); a 1-D first operand acts as a row vector and a
    1-D second operand as a column vector (the added dimension is removed); otherwise the
    last two dimensions multiply as matrices and the leading (batch) dimensions broadcast.

    Shape:
        ``(*, n, k) @ (*, k, m) -> (*, n, m)``
    """
    _check_tensor(input, "matmul", "input", 1)
    _check_tensor(other, "matmul", "other", 2)
    na, nb = input._data.ndim, other._data.ndim
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{na}D and {nb}D")
    _check_matmul(input, other)
    r = MatMul.apply(input, other)
    return r if out is None else _out(r, out)


@tensor_method
def mm(input, mat2, *, out=None) -> Tensor:
    """Product of two matrices (no broadcasting): ``(n, k) @ (k, m) -> (n, m)``."""
    _check_tensor(input, "mm", "input", 1)
    _check_tensor(mat2, "mm", "mat2", 2)
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _check_matmul(input, mat2)
    return _out(MatMul.apply(input, mat2), out)


def _check_bmm(x, y, what=("batch1", "batch2")):
    if x._data.ndim != 3:
        raise RuntimeError(f"{what[0]} must be a 3D tensor")
    if y._data.ndim != 3:
        raise RuntimeError(f"{what[1]} must be a 3D tensor")
    if x._data.dtype != y._data.dtype:
        raise RuntimeError(f"expected scalar type {_sname(x)} but found {_sname(y)}")
    B, _, k = x._data.shape
    if y._data.shape[:2] != (B, k):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{B}, {k}] but got: [{y._data.shape[0]}, {y._data.shape[1]}].")
    if x._data.dtype == np.bool_:
        raise NotImplementedError("\"bmm\" not implemented for 'Bool'")


@tensor_method
def bmm(input, mat2, *, out=None) -> Tensor:
    """Batched matrix product of 3-D tensors: ``(b, n, k) @ (b, k, m) -> (b, n, m)``."""
    _check_tensor(input, "bmm", "input", 1)
    _check_tensor(mat2, "bmm", "mat2", 2)
    _check_bmm(input, mat2)
    return _out(MatMul.apply(input, mat2), out)


def _check_mv(mat, vec):
    if mat._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {mat._data.ndim}, "
                           f"{vec._data.ndim}")
    if mat._data.dtype != vec._data.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_sname(vec)}, {_sname(mat)}, and {_sname(vec)}")
    n, k = mat._data.shape
    if vec._data.shape[0] != k:
        raise RuntimeError(f"size mismatch, got input ({n}), mat ({n}x{k}), vec "
                           f"({vec._data.shape[0]})")


@tensor_method
def mv(input, vec, *, out=None) -> Tensor:
    """Matrix-vector product: ``(n, k) @ (k,) -> (n,)``."""
    _check_tensor(input, "mv", "input", 1)
    _check_tensor(vec, "mv", "vec", 2)
    _check_mv(input, vec)
    return _out(MatMul.apply(input, vec), out)


def _check_dot(x, y):
    if x._data.ndim != 1 or y._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {x._data.ndim}D and {y._data.ndim}D "
                           "tensors")
    if x._data.dtype != y._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_sname(x)} and {_sname(y)}")
    ka, kb = x._data.shape[0], y._data.shape[0]
    if ka != kb:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{ka}] and src [{kb}] to "
                           f"have the same number of elements, but got {ka} and {kb} elements "
                           "respectively")


@tensor_method
def dot(input, tensor, *, out=None) -> Tensor:
    """Dot product of two 1-D tensors of the same dtype (0-d result)."""
    _check_tensor(input, "dot", "input", 1)
    _check_tensor(tensor, "dot", "tensor", 2)
    _check_dot(input, tensor)
    return _out(MatMul.apply(input, tensor), out)


@tensor_method
def vdot(input, other, *, out=None) -> Tensor:
    """Dot product of two 1-D tensors, conjugating the first (``sum(conj(x) * y)``)."""
    _check_tensor(input, "vdot", "input", 1)
    _check_tensor(other, "vdot", "other", 2)
    _check_dot(input, other)
    return _out(MatMul.apply(_conj(input), other), out)


@tensor_method
def outer(input, vec2, *, out=None) -> Tensor:
    """Outer product of two 1-D tensors: ``(n,), (m,) -> (n, m)`` (dtypes promote)."""
    _check_tensor(input, "outer", "input", 1)
    _check_tensor(vec2, "outer", "vec2", 2)
    for t, name in ((input, "self"), (vec2, "vec2")):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got "
                               f"{t._data.ndim}-D")
    return _out(mul(reshape(input, (-1, 1)), reshape(vec2, (1, -1))), out)


@tensor_method
def ger(input, vec2, *, out=None) -> Tensor:
    """Alias of :func:`outer`."""
    return outer(input, vec2, out=out)


@tensor_method
def inner(input, other, *, out=None) -> Tensor:
    """Inner product over the last dimension: ``(*a, k), (*b, k) -> (*a, *b)``; a 0-d
    operand multiplies."""
    _check_tensor(input, "inner", "input", 1)
    _check_tensor(other, "inner", "other", 2)
    if input._data.ndim == 0 or other._data.ndim == 0:
        return _out(mul(input, other), out)
    if input._data.dtype != other._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input._data.shape)} and "
                           f"{list(other._data.shape)}")
    return _out(tensordot(input, other, dims=([-1], [-1])), out)


def _scale(t, s):
    """``s * t`` for a Python scalar, skipping the product when ``s == 1``. Integer tensors
    take integer factors, as PyTorch casts alpha/beta to the tensor's type."""
    if t._data.dtype.kind in "iub" and not isinstance(s, bool):
        s = int(s)
    return t if s == 1 else mul(t, s)


def _add_scaled(input, prod, beta, alpha, shape):
    """``beta * input + alpha * prod``; with ``beta == 0`` input is ignored (its NaNs do
    not propagate), as in PyTorch."""
    try:
        np.broadcast_to(np.empty(input._data.shape, dtype=np.bool_), shape)
    except ValueError:
        _expand_error(input._data.shape, shape)
    r = _scale(prod, alpha)
    if beta == 0:
        return add(r, _Ignored.apply(input, shape=shape))
    return add(_scale(input, beta), r)


class _Ignored(Op):
    """``0 * input`` without its NaNs/infs: zeros of ``shape``, zero gradient (the
    ``beta == 0`` term of addmm and friends)."""

    def forward(self, x, shape):
        return np.zeros(shape, dtype=x.dtype)

    def backward(self, grad):
        return mul(grad, 0)


def _expand_error(src, target):
    lead = len(target) - len(src)
    for i in range(len(target) - 1, -1, -1):
        j = i - lead
        s = src[j] if j >= 0 else 1
        if s != 1 and s != target[i]:
            raise RuntimeError(f"The expanded size of the tensor ({target[i]}) must match the "
                               f"existing size ({s}) at non-singleton dimension {i}.  Target "
                               f"sizes: {list(target)}.  Tensor sizes: {list(src)}")
    raise RuntimeError(f"expand: cannot expand {list(src)} to {list(target)}")


def _same_dtype(input, other, name="mat2"):
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"self and {name} must have the same dtype, but got "
                           f"{_sname(input)} and {_sname(other)}")


@tensor_method
def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; input broadcasts to ``(n, m)``."""
    for t, name in ((mat1, "mat1"), (mat2, "mat2")):
        if not isinstance(t, Tensor):
            raise TypeError(f"addmm(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
        if t._data.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t._data.ndim}-D tensor")
    _same_dtype(input, mat1 if mat1._data.dtype != input._data.dtype else mat2)
    _check_matmul(mat1, mat2)
    shape = (mat1._data.shape[0], mat2._data.shape[1])
    return _out(_add_scaled(input, MatMul.apply(mat1, mat2), beta, alpha, shape), out)


@tensor_method
def addmv(input, mat, vec, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    _check_mv(mat, vec)
    if input._data.dtype != mat._data.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_sname(input)}, {_sname(mat)}, and {_sname(vec)}")
    shape = (mat._data.shape[0],)
    return _out(_add_scaled(input, MatMul.apply(mat, vec), beta, alpha, shape), out)


@tensor_method
def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    for t, name in ((vec1, "vec1"), (vec2, "vec2")):
        if t._data.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    shape = (vec1._data.shape[0], vec2._data.shape[0])
    return _out(_add_scaled(input, outer(vec1, vec2), beta, alpha, shape), out)


@tensor_method
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    _check_bmm(batch1, batch2)
    _same_dtype(input, batch1 if batch1._data.dtype != input._data.dtype else batch2,
                "batch2")
    shape = batch1._data.shape[:2] + batch2._data.shape[2:]
    return _out(_add_scaled(input, MatMul.apply(batch1, batch2), beta, alpha, shape), out)


@tensor_method
def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    if batch1._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if batch2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if batch1._data.shape[0] != batch2._data.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{batch1._data.shape[0]} and {batch2._data.shape[0]}")
    _check_bmm(batch1, batch2)
    _same_dtype(input, batch1 if batch1._data.dtype != input._data.dtype else batch2,
                "batch2")
    B, n, k = batch1._data.shape
    m = batch2._data.shape[2]
    # sum_b A_b B_b is one product: [A_1 ... A_B] (n, B*k) @ [B_1; ...; B_B] (B*k, m)
    left = reshape(permute(batch1, (1, 0, 2)), (n, B * k))
    prod = MatMul.apply(left, reshape(batch2, (B * k, m)))
    return _out(_add_scaled(input, prod, beta, alpha, (n, m)), out)


def _inplace_method(fn):
    def method(self, *args, **kwargs):
        return inplace_update(self, fn(self, *args, **kwargs))
    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    setattr(Tensor, method.__name__, method)


for _f in (addmm, addmv, addr, baddbmm, addbmm):
    _inplace_method(_f)


# ---------------------------------------------------------------------------------------
# einsum

_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _einsum_cls(n):
    """An Einsum op class saving its ``n`` inputs (the saved positions are per class)."""
    cls = _EINSUM_CLASSES.get(n)
    if cls is None:
        cls = type("Einsum", (_EinsumBase,), {"save_inputs": tuple(range(n))})
        _EINSUM_CLASSES[n] = cls
    return cls


_EINSUM_CLASSES = {}


class _EinsumBase(Op):
    """``np.einsum`` on explicit subscripts (one string per operand, no ellipsis, sizes
    already consistent). The gradient of each operand is another einsum of the output
    gradient with the other operands."""

    def forward(self, *arrays, subs, out):
        self.subs, self.out = subs, out
        self.sizes = {}
        for s, a in zip(subs, arrays):
            self.sizes.update(zip(s, a.shape))
        eq = ",".join(subs) + "->" + out
        if len(arrays) == 1:
            r = np.einsum(eq, arrays[0])
            # a single-operand einsum may return a view (transpose, diagonal): copy it
            return r.copy() if isinstance(r, np.ndarray) and np.may_share_memory(
                r, arrays[0]) else np.asarray(r)
        return np.asarray(np.einsum(eq, *arrays, optimize=True))

    def backward(self, grad):
        ops = self.saved_tensors
        grads = []
        for i, sub_i in enumerate(self.subs):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            # linear in each operand: the gradient contracts grad with the others' conjugates
            others = [(self.out, grad)] + [(s, _conj(t)) for j, (s, t) in
                                           enumerate(zip(self.subs, ops)) if j != i]
            grads.append(_einsum_grad(sub_i, others, self.sizes))
        return tuple(grads)

    def name(self):
        return "EinsumBackward0"


def _einsum_grad(sub_i, others, sizes):
    """The gradient for an operand with subscripts ``sub_i``: contract the output gradient
    with the other operands onto ``sub_i``'s labels. Labels only this operand has were
    summed away in forward, so the gradient is broadcast along them; a label repeated in
    ``sub_i`` (a diagonal) gets the gradient on that diagonal and zeros elsewhere."""
    unique = "".join(dict.fromkeys(sub_i))
    present = set("".join(s for s, _ in others))
    target = "".join(c for c in unique if c in present)
    g = _einsum_cls(len(others)).apply(*[t for _, t in others],
                                       subs=[s for s, _ in others], out=target)
    if len(target) < len(unique):
        g = reshape(g, tuple(sizes[c] if c in present else 1 for c in unique))
        g = expand(g, tuple(sizes[c] for c in unique))
    if len(unique) < len(sub_i):
        g = _EinsumDiagEmbed.apply(g, unique=unique, full=sub_i,
                                   shape=tuple(sizes[c] for c in sub_i))
    return g


class _EinsumDiagEmbed(Op):
    """Place an array labelled ``unique`` on the generalized diagonal of an array labelled
    ``full`` (labels may repeat), zeros elsewhere: the adjoint of ``einsum(full->unique)``."""

    def forward(self, g, unique, full, shape):
        self.unique, self.full = unique, full
        out = np.zeros(shape, dtype=g.dtype)
        strides = [sum(out.strides[k] for k, c in enumerate(full) if c == u) for u in unique]
        view = np.lib.stride_tricks.as_strided(out, g.shape, strides, writeable=True)
        view[...] = g
        return out

    def backward(self, grad):
        return _einsum_cls(1).apply(grad, subs=[self.full], out=self.unique)


def _parse_einsum(equation, operands):
    """Turn a PyTorch einsum equation into explicit subscripts: one label string per operand
    (ellipses replaced by fresh letters, right-aligned) and the output labels."""
    eq = equation.replace(" ", "")
    for i, c in enumerate(equation):
        if not (c.isascii() and c.isalpha()) and c not in ",.->" and c != " ":
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the "
                               "equation string, subscripts must be in [a-zA-Z]")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    used = set(c for c in eq if c.isalpha())
    fresh = [c for c in _LETTERS if c not in used]
    parsed, ell_max = [], 0
    for i, (term, op) in enumerate(zip(terms, operands)):
        nd = op._data.ndim
        if "..." in term:
            pre, _, post = term.partition("...")
            if "." in pre or "." in post:
                raise RuntimeError("einsum(): found '.' for operand 0 that is not part of any "
                                   "ellipsis".replace("0", str(i)))
            nlab = len(pre) + len(post)
            if nlab > nd:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({nlab}) is more than the number of dimensions ({nd}) "
                                   f"for operand {i}")
            ell = nd - nlab
            ell_max = max(ell_max, ell)
            parsed.append((pre, ell, post))
        else:
            if "." in term:
                raise RuntimeError(f"einsum(): found '.' for operand {i} that is not part of "
                                   "any ellipsis")
            if len(term) != nd:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({len(term)}) does not match the number of dimensions "
                                   f"({nd}) for operand {i} and no ellipsis was given")
            parsed.append((term, None, ""))
    if ell_max > len(fresh):
        raise RuntimeError("einsum(): too many dimensions covered by ellipsis")
    ell_letters = "".join(fresh[:ell_max])
    subs = [pre + (ell_letters[ell_max - ell:] if ell else "") + post if ell is not None
            else pre for pre, ell, post in parsed]
    if arrow:
        if "..." in rhs:
            pre, _, post = rhs.partition("...")
            out = pre + ell_letters + post
        else:
            out = rhs
        if "." in out:
            raise RuntimeError("einsum(): found '.' for output that is not part of any "
                               "ellipsis")
        seen = set()
        labels = set("".join(subs))
        for c in out:
            if c in seen:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   "the output")
            if c not in labels:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
            seen.add(c)
    else:
        counts = {}
        for s in subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell_letters + "".join(sorted(c for c, k in counts.items()
                                           if k == 1 and c not in ell_letters))
    return subs, out


def _sublist_equation(args):
    """``einsum(op1, [0, 1], op2, [1, 2], [0, 2])``: the sublist form, as an equation."""
    def term(sub):
        out = []
        for d in sub:
            if d is Ellipsis:
                out.append("...")
            elif isinstance(d, (int, np.integer)) and 0 <= d < 52:
                out.append(string.ascii_letters[int(d)])
            else:
                raise ValueError("einsum(): expected subscripts to be in [0, 52) but got "
                                 f"{d}")
        return "".join(out)
    has_out = len(args) % 2 == 1               # a trailing output sublist
    pairs = args[:-1] if has_out else args
    eq = ",".join(term(sl) for sl in pairs[1::2])
    if has_out:
        eq += "->" + term(args[-1])
    return eq, tuple(pairs[0::2])


def einsum(equation, *operands) -> Tensor:
    """Sum of products over the labelled dimensions given by ``equation`` (Einstein
    summation), as ``torch.einsum``: ``einsum('ij,jk->ik', a, b)`` is ``a @ b``.

    Operands may be passed as arguments or as one list (or in the sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``); ``...`` stands for broadcast dimensions;
    without ``->`` the output is the ellipsis dimensions then the labels that appear once,
    in alphabetical order. Size-1 dimensions broadcast.
    """
    if isinstance(equation, Tensor):
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): argument 'equation' must be str, not "
                        f"{type(equation).__name__}")
    for i, op in enumerate(operands):
        if not isinstance(op, Tensor):
            raise TypeError(f"einsum(): operand {i} must be a Tensor, not {type(op).__name__}")
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    subs, out = _parse_einsum(equation, operands)
    dt = operands[0]._data.dtype
    for op in operands[1:]:
        if op._data.dtype != dt:
            raise RuntimeError(f"expected scalar type {_sname(operands[0])} but found "
                               f"{_sname(op)}")
    # sizes per label; size 1 broadcasts against the others
    sizes = {}
    for i, (s, op) in enumerate(zip(subs, operands)):
        own = {}
        for c, n in zip(s, op._data.shape):
            if c in own and own[c] != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but "
                                   f"the sizes don't match, {n} != {own[c]}")
            own[c] = n
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = n
            elif n != prev and n != 1:
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} "
                                   f"which does not broadcast with previously seen size {prev}")
    ops = []
    for s, op in zip(subs, operands):
        target = tuple(sizes[c] for c in s)
        ops.append(op if op._data.shape == target else expand(op, target))
    return _einsum_cls(len(ops)).apply(*ops, subs=list(subs), out=out)


# ---------------------------------------------------------------------------------------
# tensordot, kron, cross

def tensordot(a, b, dims=2, out=None) -> Tensor:
    """Contract ``dims`` dimensions: an int (the last ``dims`` of ``a`` with the first of
    ``b``) or a pair of dimension lists. Computed as one matrix product."""
    _check_tensor(a, "tensordot", "a", 1)
    _check_tensor(b, "tensordot", "b", 2)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        dims = int(dims)
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(na, nb):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        if len(dims) != 2:
            raise RuntimeError("tensordot expects dims to be a pair of lists")
        da, db = dims
        if isinstance(da, int) or isinstance(db, int):
            raise TypeError("tensordot(): argument 'dims_self' (position 3) must be tuple of "
                            "ints, not int")
        da, db = [_wrap_dim(int(d), na) for d in da], [_wrap_dim(int(d), nb) for d in db]
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
    for x, y in zip(da, db):
        sx, sy = a._data.shape[x], b._data.shape[y]
        if sx != sy:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sx} "
                               f"in dim {x} and second has size {sy} in dim {y}")
    free_a = [d for d in range(na) if d not in da]
    free_b = [d for d in range(nb) if d not in db]
    k = int(np.prod([a._data.shape[d] for d in da], dtype=np.int64))
    left = reshape(permute(a, tuple(free_a + da)), (-1, k))
    right = reshape(permute(b, tuple(db + free_b)), (k, -1))
    shape = tuple(a._data.shape[d] for d in free_a) + tuple(b._data.shape[d] for d in free_b)
    return _out(reshape(MatMul.apply(left, right), shape), out)


@tensor_method
def kron(input, other, *, out=None) -> Tensor:
    """Kronecker product: ``result[i*p + k, j*q + l] = input[i, j] * other[k, l]`` for any
    number of dimensions (the one with fewer is padded with leading 1s)."""
    _check_tensor(input, "kron", "input", 1)
    _check_tensor(other, "kron", "other", 2)
    nd = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (nd - input._data.ndim) + input._data.shape
    sb = (1,) * (nd - other._data.ndim) + other._data.shape
    # interleave: a as (a0, 1, a1, 1, ...), b as (1, b0, 1, b1, ...), broadcast multiply
    a = reshape(input, tuple(x for s in sa for x in (s, 1)))
    b = reshape(other, tuple(x for s in sb for x in (1, s)))
    return _out(reshape(mul(a, b), tuple(x * y for x, y in zip(sa, sb))), out)


class Cross(Op):
    save_inputs = (0, 1)

    def forward(self, a, b, dim):
        self.dim = dim
        return np.cross(a, b, axisa=dim, axisb=dim, axisc=dim)

    def backward(self, grad):
        a, b = self.saved_tensors
        # d(a x b) . g = (b x g) . da + (g x a) . db
        ga = Cross.apply(_conj(b), grad, dim=self.dim) if self.needs_input_grad[0] else None
        gb = Cross.apply(grad, _conj(a), dim=self.dim) if self.needs_input_grad[1] else None
        return ga, gb

    def name(self):
        return "LinalgCrossBackward0"


def _cross(input, other, dim, name="linalg.cross"):
    if input._data.ndim != other._data.ndim:
        raise RuntimeError(f"{name}: inputs must have the same number of dimensions.")
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"expected scalar type {_sname(input)} but found {_sname(other)}")
    nd = input._data.ndim
    d = _wrap_dim(dim, nd)
    if input._data.shape[d] != 3 or other._data.shape[d] != 3:
        raise RuntimeError(f"{name}: inputs dimension {dim} must have length 3. Got "
                           f"{input._data.shape[d]} and {other._data.shape[d]}")
    shape = _broadcast_shapes(input._data.shape, other._data.shape)
    a = input if input._data.shape == shape else expand(input, shape)
    b = other if other._data.shape == shape else expand(other, shape)
    return Cross.apply(a, b, dim=d)


@tensor_method
def cross(input, other, dim=None, *, out=None) -> Tensor:
    """Cross product of 3-vectors along ``dim``. Without ``dim`` (deprecated, as in
    PyTorch) the first dimension of size 3 is used."""
    _check_tensor(input, "cross", "input", 1)
    _check_tensor(other, "cross", "other", 2)
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\n"
                      "Please either pass the dim explicitly or simply use torch.linalg.cross."
                      "\nThe default value of dim will change to agree with that of "
                      "linalg.cross in a future release.", UserWarning, stacklevel=2)
        if input._data.ndim != other._data.ndim:
            raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
        shape = _broadcast_shapes(input._data.shape, other._data.shape)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return _out(_cross(input, other, dim), out)


# ---------------------------------------------------------------------------------------
# checks shared by the decompositions

def _check_float(A, fn):
    kind = A._data.dtype.kind
    if kind not in "fc" and A.dtype is not _dtype.bfloat16:
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got "
                           f"{_sname(A)}")
    if A._data.dtype == np.float16 or A.dtype is _dtype.bfloat16:
        raise RuntimeError(f"{fn}: Low precision dtypes not supported. Got {_sname(A)}")


def _check_matrix(A, fn, arg="A", square=False):
    if not isinstance(A, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be Tensor, not {type(A).__name__}")
    if A._data.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor {arg} must have at least 2 dimensions.")
    if square and A._data.shape[-1] != A._data.shape[-2]:
        raise RuntimeError(f"{fn}: {arg} must be batches of square matrices, but they are "
                           f"{A._data.shape[-2]} by {A._data.shape[-1]} matrices")


def _check_square(A, fn, arg="A"):
    _check_matrix(A, fn, arg, square=True)
    _check_float(A, fn)


def _batch_prefix(shape, flat_index):
    return f"(Batch element {flat_index}): " if len(shape) > 2 else ""


def _first_zero_pivot(a):
    """1-based index of the first exactly-zero pivot of an LU factorization with partial
    pivoting of the square matrix ``a`` (what LAPACK's getrf reports), or 0."""
    a = np.array(a, dtype=np.float64 if a.dtype.kind == "f" else np.complex128)
    n = a.shape[0]
    first = 0
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            first = first or k + 1
            continue
        a[[k, p]] = a[[p, k]]
        a[k + 1:, k] /= a[k, k]
        a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return first or n


def _singular_info(A):
    """Per batch element: 0 if ``A`` is invertible, else getrf's zero-pivot index."""
    a = A.reshape((-1,) + A.shape[-2:])
    info = np.zeros(a.shape[0], dtype=np.int32)
    if A.shape[-1] == 0 or a.shape[0] == 0:
        return info.reshape(A.shape[:-2])
    try:
        np.linalg.inv(a)                       # LAPACK's own criterion: an exact zero pivot
    except np.linalg.LinAlgError:
        for i in range(a.shape[0]):            # (only on the failure path)
            try:
                np.linalg.inv(a[i])
            except np.linalg.LinAlgError:
                info[i] = _first_zero_pivot(a[i])
    return info.reshape(A.shape[:-2])


def _raise_singular(A, fn):
    info = _singular_info(A)
    flat = info.reshape(-1)
    bad = int(np.flatnonzero(flat)[0]) if np.any(flat) else 0
    k = int(flat[bad]) if flat.size else A.shape[-1]
    raise LinAlgError(f"{fn}: {_batch_prefix(A.shape, bad)}The diagonal element {k} is zero, "
                      "the inversion could not be completed because the input matrix is "
                      "singular.")


# ---------------------------------------------------------------------------------------
# inverse, determinants

class Inv(Op):
    save_outputs = (0,)
    _name = "LinalgInvExBackward0"

    def forward(self, A):
        try:
            return np.linalg.inv(A)
        except np.linalg.LinAlgError:
            _raise_singular(A, "linalg.inv")

    def backward(self, grad):
        (Y,) = self.saved_tensors
        Yt = _mT(Y)
        return neg(MatMul.apply(MatMul.apply(Yt, grad), Yt))   # -A^-T G A^-T


def _inv(A):
    return Inv.apply(A)


def linalg_inv(A, *, out=None) -> Tensor:
    """Inverse of a square matrix (batched). Raises ``LinAlgError`` if singular."""
    _check_square(A, "linalg.inv")
    return _out(_inv(A), out)


@tensor_method
def inverse(input, *, out=None) -> Tensor:
    """Inverse of a square matrix (batched): ``ember.linalg.inv``."""
    return linalg_inv(input, out=out)


def linalg_inv_ex(A, *, check_errors=False, out=None):
    """``(inverse, info)``: ``info`` is 0 where the matrix is invertible, else the index of
    the zero pivot; singular matrices give NaN inverses unless ``check_errors``."""
    _check_square(A, "linalg.inv_ex")
    info = _singular_info(A._data)
    if not np.any(info):
        return _linalg_inv_ex(_inv(A), _wrap(info))
    if check_errors:
        _raise_singular(A._data, "linalg.inv_ex")
    ok = (info == 0)[..., None, None].astype(A._data.dtype)
    eye = np.eye(A._data.shape[-1], dtype=A._data.dtype)
    safe = add(mul(A, ok), eye * (1 - ok))                   # invertible stand-ins
    nan = np.where(ok == 1, 0, np.nan).astype(A._data.dtype)
    return _linalg_inv_ex(add(_inv(safe), nan), _wrap(info))


class Det(Op):
    save_inputs = (0,)
    save_outputs = (0,)
    _name = "LinalgDetBackward0"

    def forward(self, A):
        return np.asarray(np.linalg.det(A))

    def backward(self, grad):
        A, d = self.saved_tensors
        gd = _unsq(_unsq(mul(grad, _conj(d)), -1), -1)
        if A._data.shape[-1] == 0:
            return None
        info = _singular_info(A._data)
        if not np.any(info):
            return mul(gd, _mT(_inv(A)))                 # g det(A) A^-T
        # Some matrices are singular: d det / dA is their cofactor matrix, which the SVD
        # gives without an inverse; invertible ones keep the differentiable formula.
        ok = (info == 0)[..., None, None].astype(A._data.dtype)
        eye = np.eye(A._data.shape[-1], dtype=A._data.dtype)
        safe = add(mul(A, ok), eye * (1 - ok))
        regular = mul(mul(gd, _mT(_inv(safe))), ok)
        cof = _cofactor(A._data) * (1 - ok)
        return add(regular, mul(_unsq(_unsq(grad, -1), -1), cof))

    def name(self):
        return self._name


def _cofactor(a):
    """The cofactor matrix ``det(A) A^-T`` via the SVD, valid for singular ``A`` too."""
    U, S, Vh = np.linalg.svd(a)
    n = S.shape[-1]
    excl = np.where(np.eye(n, dtype=bool), 1, S[..., None, :]).prod(-1)    # prod_{j!=i} s_j
    sign = np.linalg.det(U) * np.linalg.det(Vh)
    return sign[..., None, None] * (U * excl[..., None, :]) @ Vh


def linalg_det(A, *, out=None) -> Tensor:
    """Determinant of a square matrix (batched)."""
    _check_square(A, "linalg.det")
    return _out(Det.apply(A), out)


@tensor_method
def det(input) -> Tensor:
    """Determinant of a square matrix (batched): ``ember.linalg.det``."""
    return linalg_det(input)


class Slogdet(_MultiOut):
    save_inputs = (0,)
    nondiff_outputs = (0,)
    _name = "LinalgSlogdetBackward0"

    def forward(self, A):
        sign, logabs = np.linalg.slogdet(A)
        return np.asarray(sign), np.asarray(logabs)

    def backward(self, gsign, glog):
        (A,) = self.saved_tensors
        if glog is None:
            return None
        return mul(_unsq(_unsq(glog, -1), -1), _mT(_inv(A)))


def linalg_slogdet(A, *, out=None):
    """``(sign, logabsdet)``: the sign (or phase) and log of the absolute determinant."""
    _check_square(A, "linalg.slogdet")
    return _linalg_slogdet(*Slogdet.apply(A))


@tensor_method
def slogdet(input):
    """``(sign, logabsdet)`` of a square matrix (batched)."""
    return _slogdet(*linalg_slogdet(input))


class Logdet(Op):
    save_inputs = (0,)

    def forward(self, A):
        sign, logabs = np.linalg.slogdet(A)
        if A.dtype.kind == "c":
            return np.asarray(np.log(sign) + logabs)
        # log of a negative determinant is nan; of a zero determinant -inf
        return np.asarray(np.where(sign < 0, np.nan, logabs)).astype(A.dtype)

    def backward(self, grad):
        (A,) = self.saved_tensors
        return mul(_unsq(_unsq(grad, -1), -1), _mT(_inv(A)))


@tensor_method
def logdet(input) -> Tensor:
    """Log of the determinant (NaN for a negative determinant, as in PyTorch)."""
    _check_square(input, "logdet")
    return Logdet.apply(input)


# ---------------------------------------------------------------------------------------
# solvers

def _solve_shapes(A, B, left, fn="linalg.solve"):
    """Return ``(B as a matrix, vector_case)`` after PyTorch's shape rules."""
    nA, nB = A._data.ndim, B._data.ndim
    vector = nB == 1 or (nB == nA - 1 and B._data.shape == A._data.shape[:-1])
    Bm = _unsq(B, -1) if vector else B
    n = A._data.shape[-1]
    k = Bm._data.shape[-2] if left else Bm._data.shape[-1]
    if k != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation {eq} "
                           f"({_shape_str(A._data.shape[-2:])} and "
                           f"{_shape_str(Bm._data.shape[-2:])})")
    _broadcast_shapes(Bm._data.shape[:-2], A._data.shape[:-2])
    return Bm, vector


class Solve(Op):
    """``X = A^-1 B`` for square ``A`` (..., n, n) and ``B`` (..., n, k), batch dims
    broadcasting."""
    save_inputs = (0,)
    save_outputs = (0,)
    _name = "LinalgSolveExBackward0"

    def forward(self, A, B):
        try:
            return np.linalg.solve(A, B)
        except np.linalg.LinAlgError:
            raise LinAlgError("ember.linalg.solve: The solver failed because the input matrix "
                              "is singular.") from None

    def backward(self, grad):
        A, X = self.saved_tensors
        gB = Solve.apply(_mT(A), grad)                     # A^-T G
        gA = neg(MatMul.apply(gB, _mT(X))) if self.needs_input_grad[0] else None
        return gA, gB if self.needs_input_grad[1] else None


def _solve(A, B, left=True):
    if left:
        return Solve.apply(A, B)
    return _mT(Solve.apply(_mT(A), _mT(B)))            # XA = B  <=>  A^T X^T = B^T


def _check_same_dtype(A, B, fn, a="A", b="B"):
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"{fn}: Expected {a} and {b} to have the same dtype, but found {a} "
                           f"of type {_sname(A)} and {b} of type {_sname(B)} instead")


def linalg_solve(A, B, *, left=True, out=None) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` with ``left=False``) for square ``A``. ``B`` may be a
    batch of vectors (``B.shape == A.shape[:-1]`` or 1-D) or of matrices; batch dimensions
    broadcast."""
    _check_square(A, "linalg.solve")
    _check_float(B, "linalg.solve")
    _check_same_dtype(A, B, "linalg.solve")
    Bm, vector = _solve_shapes(A, B, left)
    X = _solve(A, Bm, left)
    return _out(_sq(X, -1) if vector else X, out)


def linalg_solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """``(result, info)``; ``info`` is nonzero for singular matrices (NaN results)."""
    _check_square(A, "linalg.solve_ex")
    info = _singular_info(A._data)
    if not np.any(info):
        return _linalg_solve_ex(linalg_solve(A, B, left=left), _wrap(info))
    if check_errors:
        raise LinAlgError("linalg.solve_ex: The solver failed because the input matrix is "
                          "singular.")
    inv, _ = linalg_inv_ex(A)
    Bm, vector = _solve_shapes(A, B, left, "linalg.solve_ex")
    X = MatMul.apply(inv, Bm) if left else MatMul.apply(Bm, inv)
    return _linalg_solve_ex(_sq(X, -1) if vector else X, _wrap(info))


def _triangular(A, upper, unitriangular):
    """The triangle of ``A`` a triangular solve reads (unit diagonal if asked)."""
    n = A._data.shape[-1]
    T = _triu(A, 1 if unitriangular else 0) if upper else _tril(A, -1 if unitriangular else 0)
    return add(T, np.eye(n, dtype=A._data.dtype)) if unitriangular else T


def linalg_solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """Solve ``A X = B`` (``X A = B`` with ``left=False``) reading only the upper or lower
    triangle of ``A`` (and a unit diagonal when ``unitriangular``). ``B`` must be a matrix
    (batches broadcast)."""
    fn = "linalg.solve_triangular"
    _check_square(A, fn)
    if B._data.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor B must have at least 2 dimensions.")
    _check_same_dtype(A, B, fn)
    n = A._data.shape[-1]
    k = B._data.shape[-2] if left else B._data.shape[-1]
    if k != n:
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and "
                           f"{_shape_str(B._data.shape[-2:])})")
    _broadcast_shapes(B._data.shape[:-2], A._data.shape[:-2])
    return _out(_solve(_triangular(A, upper, unitriangular), B, left), out)


@tensor_method
def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """Legacy: ``(solution, cloned_coefficient)`` of ``op(A) X = b`` with triangular ``A``
    (``op`` transposes when ``transpose``)."""
    T = _triangular(A, upper, unitriangular)
    if transpose:
        T = _mT(T)
    X = Solve.apply(T, b)
    return _triangular_solve(X, _wrap(A._data.copy()))


# ---------------------------------------------------------------------------------------
# Cholesky

def _not_pd_order(a):
    """Order of the first leading minor that is not positive definite."""
    for k in range(1, a.shape[-1] + 1):
        try:
            np.linalg.cholesky(a[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return a.shape[-1]


def _cholesky_info(A):
    a = A.reshape((-1,) + A.shape[-2:])
    info = np.zeros(a.shape[0], dtype=np.int32)
    for i in range(a.shape[0]):
        try:
            np.linalg.cholesky(a[i])
        except np.linalg.LinAlgError:
            info[i] = _not_pd_order(a[i])
    return info.reshape(A.shape[:-2])


class Cholesky(Op):
    """Lower Cholesky factor ``L`` of ``A = L L^T`` (only the lower triangle is read)."""
    save_outputs = (0,)
    _name = "LinalgCholeskyExBackward0"

    def forward(self, A, fn):
        try:
            return np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            info = _cholesky_info(A).reshape(-1)
            bad = int(np.flatnonzero(info)[0])
            raise LinAlgError(f"{fn}: {_batch_prefix(A.shape, bad)}The factorization could not "
                              "be completed because the input is not positive-definite (the "
                              f"leading minor of order {info[bad]} is not positive-definite)."
                              ) from None

    def backward(self, grad):
        (L,) = self.saved_tensors
        # dA = dL L^H + L dL^H. With P = L^H G, the gradient is
        # gA = 1/2 L^-H (tril(P, -1) + tril(P, -1)^H + diag(P)) L^-1: symmetric for real A
        # (A is symmetric; only its lower half is read), and PyTorch's choice for complex A.
        P = MatMul.apply(_mT(L), grad)
        low = _tril(P, -1)
        Y = add(add(low, _mT(low)), _diag_embed(_diag(P)))
        S = _solve(L, _solve(_mT(L), Y), left=False)       # L^-H Y L^-1
        return mul(S, 0.5)


def _cholesky(A, upper=False, fn="linalg.cholesky"):
    L = Cholesky.apply(A, fn=fn)
    return _mT(L) if upper else L


def linalg_cholesky(A, *, upper=False, out=None) -> Tensor:
    """Cholesky factor of a symmetric (Hermitian) positive-definite matrix: lower ``L`` with
    ``A = L L^H``, or upper ``U = L^H`` when ``upper``. Raises ``LinAlgError`` if ``A`` is
    not positive definite."""
    _check_square(A, "linalg.cholesky")
    return _out(_cholesky(A, upper), out)


def linalg_cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """``(L, info)``: ``info`` is the order of the first leading minor that is not positive
    definite (0 on success); failed matrices give NaN factors."""
    _check_square(A, "linalg.cholesky_ex")
    info = _cholesky_info(A._data)
    if not np.any(info):
        return _linalg_cholesky_ex(_cholesky(A, upper), _wrap(info))
    if check_errors:
        _cholesky(A, upper, "linalg.cholesky_ex")
    ok = (info == 0)[..., None, None].astype(A._data.dtype)
    eye = np.eye(A._data.shape[-1], dtype=A._data.dtype)
    L = _cholesky(add(mul(A, ok), eye * (1 - ok)), upper)
    return _linalg_cholesky_ex(add(L, np.where(ok == 1, 0, np.nan).astype(A._data.dtype)),
                               _wrap(info))


@tensor_method
def cholesky(input, upper=False, *, out=None) -> Tensor:
    """Legacy ``torch.cholesky`` (deprecated there): ``ember.linalg.cholesky``."""
    _check_square(input, "cholesky")
    return _out(_cholesky(input, upper, "cholesky"), out)


class CholeskySolve(Op):
    """``X = (L L^H)^-1 B`` from the triangle of the factor (``U^H U`` when ``upper``)."""
    save_inputs = (1,)
    save_outputs = (0,)
    _name = "CholeskySolveBackward0"

    def forward(self, B, L, upper):
        self.upper = upper
        T = np.triu(L) if upper else np.tril(L)
        Th = np.conj(np.swapaxes(T, -1, -2))
        if upper:                                   # A = U^H U
            T, Th = Th, T
        return np.linalg.solve(Th, np.linalg.solve(T, B))

    def backward(self, grad):
        L, X = self.saved_tensors
        gB = CholeskySolve.apply(grad, L, upper=self.upper)
        gL = None
        if self.needs_input_grad[1]:
            # as PyTorch: the gradient of A^-1 B through A = L L^H, applied to the whole
            # factor argument (not masked to its triangle)
            common = MatMul.apply(gB, _mT(X))
            common = add(common, _mT(common))
            gL = neg(MatMul.apply(L, common) if self.upper else MatMul.apply(common, L))
        return gB if self.needs_input_grad[0] else None, gL


@tensor_method
def cholesky_solve(input, input2, upper=False, *, out=None) -> Tensor:
    """Solve ``A X = input`` given the Cholesky factor ``input2`` of ``A`` (lower, or upper
    when ``upper``); batch dimensions broadcast."""
    if input2._data.ndim < 2 or input2._data.shape[-1] != input2._data.shape[-2]:
        shape = input2._data.shape
        raise RuntimeError(f"A must be batches of square matrices, but they are "
                           f"{shape[-2] if len(shape) > 1 else 1} by {shape[-1]} matrices")
    if input._data.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has "
                           f"{input._data.ndim} dimensions instead")
    if input._data.dtype != input2._data.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{_sname(input)} and A of type {_sname(input2)} instead.")
    return _out(CholeskySolve.apply(input, input2, upper=bool(upper)), out)


@tensor_method
def cholesky_inverse(input, upper=False, *, out=None) -> Tensor:
    """Inverse of ``A`` given its Cholesky factor."""
    n = input._data.shape[-1]
    eye = _wrap(np.broadcast_to(np.eye(n, dtype=input._data.dtype), input._data.shape).copy())
    return _out(cholesky_solve(eye, input, upper), out)


# ---------------------------------------------------------------------------------------
# eigendecompositions

class Eigh(_MultiOut):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix, reading
    the ``UPLO`` triangle."""
    save_outputs = (0, 1)
    _name = "LinalgEighBackward0"

    def forward(self, A, UPLO):
        w, V = np.linalg.eigh(A, UPLO=UPLO)
        return w, V

    def backward(self, gw, gV):
        w, V = self.saved_tensors
        # gA = V (diag(gw) + skew(V^T gV) / E) V^T,  E_ij = w_j - w_i
        if gV is None:
            M = _diag_embed(gw)
        else:
            X = MatMul.apply(_mT(V), gV)
            K = mul(sub(X, _mT(X)), 0.5)
            wd = w._data
            n = wd.shape[-1]
            # E_ij = w_j - w_i, with ones on the diagonal (where skew(.) is 0)
            E = add(sub(_unsq(w, -2), _unsq(w, -1)), np.eye(n, dtype=wd.dtype))
            M = div(K, E)
            if gw is not None:
                M = add(M, _diag_embed(gw))
        return MatMul.apply(MatMul.apply(V, M), _mT(V))


def _check_uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def _check_eig_input(A, fn):
    _check_matrix(A, fn, square=True)
    if A._data.dtype.kind not in "fc":
        raise NotImplementedError(f"\"{fn.replace('.', '_')}_cpu\" not implemented for "
                                  f"'{_sname(A)}'")
    _check_float(A, fn)


def linalg_eigh(A, UPLO="L", *, out=None):
    """``(eigenvalues, eigenvectors)`` of a symmetric (Hermitian) matrix; eigenvalues in
    ascending order. Eigenvectors are defined up to sign, so only sign-invariant functions
    of them have well-defined gradients."""
    _check_eig_input(A, "linalg.eigh")
    _check_uplo(UPLO)
    return _linalg_eigh(*Eigh.apply(A, UPLO=UPLO))


def linalg_eigvalsh(A, UPLO="L", *, out=None) -> Tensor:
    """Eigenvalues of a symmetric (Hermitian) matrix, ascending."""
    _check_eig_input(A, "linalg.eigh")
    _check_uplo(UPLO)
    return _out(Eigh.apply(A, UPLO=UPLO)[0], out)


class Eig(_MultiOut):
    """Eigenvalues and unit-norm eigenvectors of a general square matrix (complex)."""
    save_outputs = (0, 1)
    _name = "LinalgEigBackward0"

    def forward(self, A):
        w, V = np.linalg.eig(A)
        ct = np.result_type(A.dtype, np.complex64)
        return w.astype(ct), V.astype(ct)

    def backward(self, gw, gV):
        w, V = self.saved_tensors
        Vh = _mT(V)
        n = w._data.shape[-1]
        eye = np.eye(n, dtype=w._data.dtype)
        if gV is None:
            inner = _diag_embed(gw)
        else:
            X = MatMul.apply(Vh, gV)
            # each eigenvector is fixed only up to a phase (its norm is 1): remove the
            # component of the gradient along that direction
            X = sub(X, MatMul.apply(MatMul.apply(Vh, V), _diag_embed(_Real.apply(_diag(X)))))
            E = add(_conj(sub(_unsq(w, -2), _unsq(w, -1))), eye)     # conj(w_j - w_i)
            inner = mul(div(X, E), 1 - eye)
            if gw is not None:
                inner = add(inner, _diag_embed(gw))
        # gA = V^-H inner V^H (the engine keeps the real part for a real A)
        return Solve.apply(Vh, MatMul.apply(inner, Vh))


def linalg_eig(A, *, out=None):
    """``(eigenvalues, eigenvectors)`` of a general square matrix, always complex;
    eigenvectors have unit norm and are defined up to a phase, so only phase-invariant
    functions of them have well-defined gradients."""
    _check_matrix(A, "linalg.eig", square=True)
    _check_float(A, "linalg.eig")
    return _linalg_eig(*Eig.apply(A))


def linalg_eigvals(A, *, out=None) -> Tensor:
    """Eigenvalues of a general square matrix (complex)."""
    return _out(linalg_eig(A)[0], out)


# ---------------------------------------------------------------------------------------
# SVD

class Svd(_MultiOut):
    """``A = U diag(S) Vh``, singular values descending."""
    save_outputs = (0, 1, 2)
    _name = "LinalgSvdBackward0"

    def forward(self, A, full_matrices):
        self.full = full_matrices
        m, n = A.shape[-2:]
        if A.size == 0:
            k = min(m, n)
            U = np.broadcast_to(np.eye(m, m if full_matrices else k, dtype=A.dtype),
                                A.shape[:-2] + (m, m if full_matrices else k)).copy()
            Vh = np.broadcast_to(np.eye(n if full_matrices else k, n, dtype=A.dtype),
                                 A.shape[:-2] + (n if full_matrices else k, n)).copy()
            return U, np.zeros(A.shape[:-2] + (k,), dtype=np.abs(A[..., :0, :0]).dtype), Vh
        U, S, Vh = np.linalg.svd(A, full_matrices=full_matrices)
        return U, S, Vh

    def backward(self, gU, gS, gVh):
        U, S, Vh = self.saved_tensors
        m, n = U._data.shape[-2], Vh._data.shape[-1]
        k = S._data.shape[-1]
        if self.full and (gU is not None or gVh is not None):
            # the extra columns of U / rows of Vh are arbitrary: only the first k count
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            gU = gU[..., :, :k] if gU is not None else None
            gVh = gVh[..., :k, :] if gVh is not None else None
        if gU is None and gVh is None:                     # svdvals: U diag(gS) Vh
            return MatMul.apply(mul(U, _unsq(gS, -2)), Vh)
        return _svd_backward(gU, gS, gVh, U, S, Vh, m, n)


def _svd_backward(gU, gS, gVh, U, S, Vh, m, n):
    """Gradient of ``A = U diag(S) Vh`` (reduced, distinct nonzero singular values)."""
    Sr, Sc = _unsq(S, -2), _unsq(S, -1)               # S as a row / a column
    S2 = mul(S, S)
    E = sub(_unsq(S2, -2), _unsq(S2, -1))              # E_ij = s_j^2 - s_i^2
    kk = S._data.shape[-1]
    E = add(E, np.eye(kk, dtype=S._data.dtype))        # any nonzero diagonal: 0 / 1 = 0
    inner = None
    if gU is not None:
        X = MatMul.apply(_mT(U), gU)
        inner = mul(sub(X, _mT(X)), Sr)                # skew(U^T gU) S
    if gVh is not None:
        Y = MatMul.apply(Vh, _mT(gVh))
        term = mul(Sc, sub(Y, _mT(Y)))                 # S skew(V^T gV)
        inner = term if inner is None else add(inner, term)
    inner = div(inner, E)
    if gS is not None:
        inner = add(inner, _diag_embed(gS))
    if m > n and gU is not None:
        # the part of gU outside span(U): (I - U U^T) gU S^-1
        gUS = div(gU, Sr)
        core = add(MatMul.apply(U, inner), sub(gUS, MatMul.apply(U, MatMul.apply(_mT(U), gUS))))
        return MatMul.apply(core, Vh)
    if m < n and gVh is not None:
        SgVh = div(gVh, Sc)
        core = add(MatMul.apply(inner, Vh),
                   sub(SgVh, MatMul.apply(MatMul.apply(SgVh, _mT(Vh)), Vh)))
        return MatMul.apply(U, core)
    return MatMul.apply(MatMul.apply(U, inner), Vh)


def linalg_svd(A, full_matrices=True, *, driver=None, out=None):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh`` and ``S`` descending. ``full_matrices``
    makes ``U`` (m, m) and ``Vh`` (n, n), else (m, k) and (k, n), k = min(m, n). The
    singular vectors are defined up to sign: differentiate sign-invariant functions."""
    _check_matrix(A, "linalg.svd")
    _check_float(A, "linalg.svd")
    return _linalg_svd(*Svd.apply(A, full_matrices=bool(full_matrices)))


def linalg_svdvals(A, *, driver=None, out=None) -> Tensor:
    """Singular values, descending."""
    _check_matrix(A, "linalg.svdvals")
    _check_float(A, "linalg.svdvals")
    return _out(Svd.apply(A, full_matrices=False)[1], out)


@tensor_method
def svd(input, some=True, compute_uv=True, *, out=None):
    """Legacy ``torch.svd``: ``(U, S, V)`` with ``A = U diag(S) V^H`` (V, not Vh). With
    ``compute_uv=False``, U and V are zero-filled (m, m) and (n, n) matrices."""
    _check_matrix(input, "linalg.svd")
    _check_float(input, "linalg.svd")
    if not compute_uv:
        m, n = input._data.shape[-2:]
        batch = input._data.shape[:-2]
        S = linalg_svdvals(input)
        return _svd(_wrap(np.zeros(batch + (m, m), dtype=input._data.dtype)), S,
                    _wrap(np.zeros(batch + (n, n), dtype=input._data.dtype)))
    U, S, Vh = Svd.apply(input, full_matrices=not some)
    return _svd(U, S, _mT(Vh))


# ---------------------------------------------------------------------------------------
# QR

class Qr(_MultiOut):
    save_outputs = (0, 1)
    _name = "LinalgQrBackward0"

    def forward(self, A, mode):
        self.mode = mode
        if mode == "r":
            R = np.linalg.qr(A, mode="r")
            return np.zeros((0,), dtype=A.dtype), R
        Q, R = np.linalg.qr(A, mode=mode)
        return Q, R

    def backward(self, gQ, gR):
        if self.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you "
                               "are going to differentiate through linalg.qr.")
        Q, R = self.saved_tensors
        m, n = Q._data.shape[-2], R._data.shape[-1]
        if self.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols.")
        if m >= n:
            return _qr_backward_tall(gQ, gR, Q, R)
        # A = Q [X | Y] with X square: X = Q U gives the square case, Y = Q V is linear in Q
        sel_x = np.eye(m, n, dtype=R._data.dtype)           # [I 0]: (m, n)
        sel_y = np.eye(n - m, n, k=m, dtype=R._data.dtype)  # [0 I]: (n - m, n)
        U = MatMul.apply(R, _wrap(sel_x.T))
        V = MatMul.apply(R, _wrap(sel_y.T))
        Y = MatMul.apply(MatMul.apply(Q, R), _wrap(sel_y.T))
        gU = MatMul.apply(gR, _wrap(sel_x.T)) if gR is not None else None
        gV = MatMul.apply(gR, _wrap(sel_y.T)) if gR is not None else None
        gQ2 = gQ
        if gV is not None:
            t = MatMul.apply(Y, _mT(gV))
            gQ2 = t if gQ2 is None else add(gQ2, t)
        gX = _qr_backward_tall(gQ2, gU, Q, U)
        out = MatMul.apply(gX, _wrap(sel_x))
        if gV is not None:
            out = add(out, MatMul.apply(MatMul.apply(Q, gV), _wrap(sel_y)))
        return out


def _qr_backward_tall(gQ, gR, Q, R):
    """m >= n, reduced: with M = R gR^T - gQ^T Q, gA = (gQ + Q copyltu(M)) R^-T where
    copyltu mirrors the lower triangle of M onto the upper one."""
    n = R._data.shape[-1]
    M = None
    if gR is not None:
        M = MatMul.apply(R, _mT(gR))
    if gQ is not None:
        t = MatMul.apply(_mT(gQ), Q)
        M = neg(t) if M is None else sub(M, t)
    low = _tril(M, -1)
    d = _diag(M)
    if _is_complex(d):
        d = _Real.apply(d)
    sym = add(add(low, _mT(low)), _diag_embed(d))
    b = MatMul.apply(Q, sym)
    if gQ is not None:
        b = add(b, gQ)
    # b R^-T: solve X R^T = b
    return _solve(_mT(_triangular(R, True, False)), b, left=False)


def linalg_qr(A, mode="reduced", *, out=None):
    """``(Q, R)`` with ``A = Q R``, Q orthonormal columns, R upper triangular. ``mode``:
    'reduced' (k = min(m, n) columns), 'complete' (Q is m x m), or 'r' (R only; Q empty)."""
    _check_matrix(A, "linalg.qr")
    _check_float(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    return _linalg_qr(*Qr.apply(A, mode=mode))


@tensor_method
def qr(input, some=True, *, out=None):
    """Legacy ``torch.qr``: ``linalg.qr(A, 'reduced' if some else 'complete')``."""
    return _qr(*linalg_qr(input, "reduced" if some else "complete"))


# ---------------------------------------------------------------------------------------
# pseudo-inverse, least squares, rank

def _tol_array(t, shape, dtype):
    if t is None:
        return None
    arr = t._data if isinstance(t, Tensor) else np.asarray(t, dtype=dtype)
    return np.broadcast_to(np.asarray(arr, dtype=dtype), shape)


def _thresholds(S, atol, rtol, m, n, dtype):
    """PyTorch's ``max(atol, rtol * sigma_max)``; default rtol eps * max(m, n) when neither
    is given, 0 when only atol is."""
    batch = S.shape[:-1]
    real = np.finfo(dtype).dtype
    a = _tol_array(atol, batch, real)
    r = _tol_array(rtol, batch, real)
    if r is None:
        r = np.zeros(batch, real) if a is not None and np.any(a > 0) else \
            np.full(batch, np.finfo(real).eps * max(m, n), real)
    if a is None:
        a = np.zeros(batch, real)
    smax = S.max(axis=-1) if S.shape[-1] else np.zeros(batch, real)
    return np.maximum(a, r * smax)


class Pinv(Op):
    """Moore-Penrose pseudo-inverse (singular values at or below the threshold are
    treated as zero)."""
    save_inputs = (0,)
    save_outputs = (0,)
    _name = "LinalgPinvBackward0"

    def forward(self, A, atol, rtol, hermitian):
        m, n = A.shape[-2:]
        if A.size == 0:
            return np.zeros(A.shape[:-2] + (n, m), dtype=A.dtype)
        if hermitian:
            w, V = np.linalg.eigh(A)
            tol = _thresholds(np.abs(w), atol, rtol, m, n, A.dtype)
            inv = np.where(np.abs(w) > tol[..., None], 1 / np.where(w == 0, 1, w), 0)
            return (V * inv[..., None, :].astype(A.dtype)) @ np.conj(np.swapaxes(V, -1, -2))
        U, S, Vh = np.linalg.svd(A, full_matrices=False)
        tol = _thresholds(S, atol, rtol, m, n, A.dtype)
        inv = np.where(S > tol[..., None], 1 / np.where(S == 0, 1, S), 0).astype(A.dtype)
        return np.conj(np.swapaxes(Vh, -1, -2)) * inv[..., None, :] @ \
            np.conj(np.swapaxes(U, -1, -2))

    def backward(self, grad):
        A, P = self.saved_tensors
        # dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P   (constant rank)
        m, n = A._data.shape[-2:]
        Pt, Gt = _mT(P), _mT(grad)
        t1 = neg(MatMul.apply(MatMul.apply(Pt, grad), Pt))
        left = sub(np.eye(m, dtype=A._data.dtype), MatMul.apply(A, P))      # (m, m)
        t2 = MatMul.apply(MatMul.apply(left, Gt), MatMul.apply(P, Pt))
        right = sub(np.eye(n, dtype=A._data.dtype), MatMul.apply(P, A))     # (n, n)
        t3 = MatMul.apply(MatMul.apply(Pt, P), MatMul.apply(Gt, right))
        return add(add(t1, t2), t3)


def linalg_pinv(A, *, atol=None, rtol=None, hermitian=False, out=None) -> Tensor:
    """Pseudo-inverse: singular values ``<= max(atol, rtol * sigma_max)`` are dropped
    (default ``rtol = eps * max(m, n)``). ``hermitian=True`` uses the eigendecomposition."""
    _check_matrix(A, "linalg.pinv")
    _check_float(A, "linalg.pinv")
    if hermitian:
        _check_matrix(A, "linalg.eigh", square=True)
    return _out(Pinv.apply(A, atol=atol, rtol=rtol, hermitian=bool(hermitian)), out)


@tensor_method
def pinverse(input, rcond=1e-15) -> Tensor:
    """Legacy pseudo-inverse with relative cutoff ``rcond``."""
    return linalg_pinv(input, rtol=rcond)


def linalg_matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """Number of singular values (absolute eigenvalues when ``hermitian``) above
    ``max(atol, rtol * sigma_max)``; ``tol`` is the legacy absolute tolerance."""
    _check_matrix(A, "linalg.matrix_rank")
    _check_float(A, "linalg.matrix_rank")
    if tol is not None:
        atol, rtol = tol, 0.0
    m, n = A._data.shape[-2:]
    if hermitian:
        _check_matrix(A, "linalg.eigh", square=True)
        S = np.abs(np.linalg.eigvalsh(A._data))
    else:
        S = np.linalg.svd(A._data, compute_uv=False) if A._data.size else \
            np.zeros(A._data.shape[:-2] + (min(m, n),), dtype=np.abs(A._data).dtype)
    thr = _thresholds(S, atol, rtol, m, n, A._data.dtype)
    return _out(_wrap(np.asarray((S > thr[..., None]).sum(-1), dtype=np.int64)), out)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def linalg_lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of ``A X = B`` (minimum norm when rank deficient), as
    ``(solution, residuals, rank, singular_values)``. Which extra outputs are filled
    depends on ``driver`` as in PyTorch on the CPU (default 'gelsy': rank only;
    'gelsd'/'gelss': rank and singular values; residuals when m > n, full rank and the
    driver is not 'gelsy')."""
    fn = "ember.linalg.lstsq"
    _check_matrix(A, "linalg.lstsq")
    _check_float(A, "linalg.lstsq")
    if driver is None:
        driver = "gelsy"
    if driver not in _DRIVERS:
        raise RuntimeError(f"{fn}: parameter `driver` should be one of (gels, gelsy, gelsd, "
                           "gelss)")
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"{fn}: Expected input and other to have the same dtype, but got "
                           f"input's dtype {_sname(A)} and other's dtype {_sname(B)}")
    vector = B._data.ndim == A._data.ndim - 1
    Bm = _unsq(B, -1) if vector else B
    if Bm._data.shape[-2] != A._data.shape[-2]:
        raise RuntimeError(f"{fn}: input.size(-2) should match other.size(-2)")
    _broadcast_shapes(Bm._data.shape[:-2], A._data.shape[:-2])
    m, n = A._data.shape[-2:]
    real = np.finfo(A._data.dtype).dtype
    rtol = rcond if rcond is not None and rcond > 0 else None
    X = MatMul.apply(Pinv.apply(A, atol=None, rtol=rtol, hermitian=False), Bm)
    S = np.linalg.svd(A._data, compute_uv=False) if A._data.size else \
        np.zeros(A._data.shape[:-2] + (min(m, n),), real)
    thr = _thresholds(S, None, rtol, m, n, A._data.dtype)
    rank = (S > thr[..., None]).sum(-1).astype(np.int64)
    if driver != "gelsy" and m > n and np.all(rank == n):
        resid = MatMul.apply(A, X)
        r = sub(resid, Bm)
        ra = _Abs.apply(r) if _is_complex(r) else r
        residuals = _sum(mul(ra, ra), -2)
    else:
        residuals = _wrap(np.zeros((0,), dtype=real))
    rank_t = _wrap(np.zeros((0,), np.int64)) if driver == "gels" else _wrap(np.asarray(rank))
    sv = _wrap(S) if driver in ("gelsd", "gelss") else _wrap(np.zeros((0,), real))
    sol = _sq(X, -1) if vector else X
    return _linalg_lstsq(sol, residuals, rank_t, sv)


# ---------------------------------------------------------------------------------------
# matrix functions

def linalg_matrix_power(A, n, *, out=None) -> Tensor:
    """``A`` multiplied by itself ``n`` times (``n < 0``: powers of the inverse; ``n == 0``:
    the identity), by repeated squaring."""
    _check_matrix(A, "linalg.matrix_power", square=True)
    n = int(n)
    if n == 0:
        k = A._data.shape[-1]
        return _out(_wrap(np.broadcast_to(np.eye(k, dtype=A._data.dtype),
                                          A._data.shape).copy()), out)
    if n < 0:
        _check_float(A, "linalg.inv")
        A, n = _inv(A), -n
    result, base = None, A
    while True:
        if n & 1:
            result = base if result is None else MatMul.apply(result, base)
        n >>= 1
        if not n:
            break
        base = MatMul.apply(base, base)
    return _out(result, out)


@tensor_method
def matrix_power(input, n) -> Tensor:
    """``input`` raised to the integer power ``n`` (see ``ember.linalg.matrix_power``)."""
    return linalg_matrix_power(input, n)


_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
           129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
           40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def _expm(A):
    """Matrix exponential by scaling and squaring with the degree-13 Pade approximant
    (Higham 2005), batched: each matrix is scaled by its own power of two."""
    n = A.shape[-1]
    if A.size == 0:
        return A.copy()
    norm1 = np.abs(A).sum(axis=-2).max(axis=-1)
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(np.maximum(norm1, 1e-300) / _THETA13))).astype(int)
    X = A / (2.0 ** s)[..., None, None].astype(A.dtype)
    b = [A.dtype.type(c) for c in _PADE13]
    eye = np.eye(n, dtype=A.dtype)
    X2 = X @ X
    X4 = X2 @ X2
    X6 = X4 @ X2
    U = X @ (X6 @ (b[13] * X6 + b[11] * X4 + b[9] * X2) + b[7] * X6 + b[5] * X4 + b[3] * X2
             + b[1] * eye)
    V = X6 @ (b[12] * X6 + b[10] * X4 + b[8] * X2) + b[6] * X6 + b[4] * X4 + b[2] * X2 \
        + b[0] * eye
    R = np.linalg.solve(V - U, V + U)
    for i in range(int(s.max()) if s.size else 0):
        R = np.where((i < s)[..., None, None], R @ R, R)
    return R


class MatrixExp(Op):
    save_inputs = (0,)
    _name = "LinalgMatrixExpBackward0"

    def forward(self, A):
        return _expm(A)

    def backward(self, grad):
        (A,) = self.saved_tensors
        # The adjoint of exp at A applied to G is the top-right block of
        # exp([[A^T, G], [0, A^T]]). Blocks are placed with constant selection matrices so
        # the whole formula stays differentiable.
        n = A._data.shape[-1]
        dt = A._data.dtype
        top = _wrap(np.eye(n, 2 * n, dtype=dt))            # [I 0]
        bot = _wrap(np.eye(n, 2 * n, k=n, dtype=dt))       # [0 I]
        At = _mT(A)
        top_t, bot_t = _wrap(top._data.T.copy()), _wrap(bot._data.T.copy())
        block = add(add(MatMul.apply(MatMul.apply(top_t, At), top),
                        MatMul.apply(MatMul.apply(top_t, grad), bot)),
                    MatMul.apply(MatMul.apply(bot_t, At), bot))
        E = MatrixExp.apply(block)
        return MatMul.apply(MatMul.apply(top, E), bot_t)


def linalg_matrix_exp(A) -> Tensor:
    """Matrix exponential ``sum_k A^k / k!`` (batched)."""
    _check_matrix(A, "linalg.matrix_exp", square=True)
    _check_float(A, "linalg.matrix_exp")
    return MatrixExp.apply(A)


@tensor_method
def matrix_exp(input) -> Tensor:
    """Matrix exponential (see ``ember.linalg.matrix_exp``)."""
    return linalg_matrix_exp(input)


# ---------------------------------------------------------------------------------------
# products of several matrices

def _chain_order(shapes):
    """Optimal parenthesization of a matrix chain (dynamic programming on the costs)."""
    dims = [shapes[0][0]] + [s[1] for s in shapes]
    n = len(shapes)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(mats, split, i, j):
    if i == j:
        return mats[i]
    k = split[i][j]
    return MatMul.apply(_chain(mats, split, i, k), _chain(mats, split, k + 1, j))


def linalg_multi_dot(tensors, *, out=None) -> Tensor:
    """Product of a chain of matrices in the cheapest order; the first may be 1-D (a row
    vector) and the last 1-D (a column vector)."""
    tensors = list(tensors)
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    for i, t in enumerate(tensors):
        nd = t._data.ndim
        if i == 0 and nd not in (1, 2):
            raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {nd}D")
        if i == n - 1 and i > 0 and nd not in (1, 2):
            raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {nd}D")
        if 0 < i < n - 1 and nd != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {nd}D")
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but "
                               f"tensor 0 is {_cname(tensors[0])} and tensor {i} {_cname(t)}")
    first_vec, last_vec = tensors[0]._data.ndim == 1, tensors[-1]._data.ndim == 1
    mats = list(tensors)
    if first_vec:
        mats[0] = _unsq(mats[0], 0)
    if last_vec:
        mats[-1] = _unsq(mats[-1], 1)
    for i in range(n - 1):
        a, b = mats[i]._data.shape, mats[i + 1]._data.shape
        if a[1] != b[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                               f"{list(tensors[i]._data.shape)} and "
                               f"{list(tensors[i + 1]._data.shape)} cannot be multiplied")
    split = _chain_order([m._data.shape for m in mats])
    r = _chain(mats, split, 0, n - 1)
    if first_vec and last_vec:
        r = reshape(r, ())
    elif first_vec:
        r = _sq(r, 0)
    elif last_vec:
        r = _sq(r, -1)
    return _out(r, out)


def chain_matmul(*matrices, out=None) -> Tensor:
    """Deprecated alias of ``linalg.multi_dot`` for 2-D matrices."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for t in matrices:
        if t._data.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {t._data.ndim}, expected 2 instead.")
    if len(matrices) == 1:
        return _out(mul(matrices[0], 1), out)
    return linalg_multi_dot(matrices, out=out)


def linalg_vecdot(x, y, *, dim=-1, out=None) -> Tensor:
    """``sum(conj(x) * y, dim)`` with broadcasting."""
    fn = "linalg.vecdot"
    if x._data.dtype != y._data.dtype:
        raise RuntimeError(f"{fn}: Expected x and y to have the same dtype, but found x of type "
                           f"{_sname(x)} and y of type {_sname(y)} instead")
    _check_float(x, fn)
    shape = _broadcast_shapes(x._data.shape, y._data.shape)
    return _out(_sum(mul(_conj(x), y), _wrap_dim(dim, len(shape))), out)


def linalg_tensorinv(A, ind=2, *, out=None) -> Tensor:
    """Inverse with respect to ``tensordot``: the first ``ind`` dims form the rows."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = A._data.shape[:ind], A._data.shape[ind:]
    p, q = int(np.prod(rows, dtype=np.int64)), int(np.prod(cols, dtype=np.int64))
    if p != q:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) "
                           f"== prod(self.shape[:ind]), but got {q} != {p}")
    inv = linalg_inv(reshape(A, (p, q)))
    return _out(reshape(inv, cols + rows), out)


def linalg_tensorsolve(A, B, dims=None, *, out=None) -> Tensor:
    """Solve ``tensordot(A, X, X.ndim) = B`` for ``X``."""
    if dims is not None:
        nd = A._data.ndim
        dims = [_wrap_dim(d, nd) for d in dims]
        A = permute(A, tuple(d for d in range(nd) if d not in dims) + tuple(dims))
    rest = A._data.shape[B._data.ndim:]
    p = int(np.prod(B._data.shape, dtype=np.int64))
    q = int(np.prod(rest, dtype=np.int64))
    X = linalg_solve(reshape(A, (p, q)), reshape(B, (p,)))
    return _out(reshape(X, rest), out)


class Vander(Op):
    """``x[..., i] ** j`` for j < N: the powers of each element along a new last dim."""
    save_inputs = (0,)
    _name = "LinalgVanderBackward0"

    def forward(self, x, N):
        self.N = N
        return np.power(x[..., None], np.arange(N).astype(x.dtype))

    def backward(self, grad):
        (x,) = self.saved_tensors
        if self.N == 1:
            return mul(_sum(grad, -1), 0)
        # d/dx sum_j g_j x^j = sum_{j>=1} g_j j x^(j-1)
        lower = _conj(Vander.apply(x, N=self.N - 1))
        coef = np.arange(1, self.N).astype(x._data.dtype)
        return _sum(mul(mul(grad[..., 1:], coef), lower), -1)


def linalg_vander(x, *, N=None) -> Tensor:
    """Vandermonde matrix: ``(*, n) -> (*, n, N)`` with columns ``x^0, ..., x^(N-1)``
    (``N`` defaults to n)."""
    if x._data.dtype == np.bool_:
        raise RuntimeError("linalg.vander supports floating point, complex, and integer "
                           "tensors, but got Bool")
    if N is None:
        N = x._data.shape[-1] if x._data.ndim else 0
    if N <= 1:
        raise RuntimeError("N must be greater than 1.")
    return Vander.apply(x, N=int(N))


def linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1) -> Tensor:
    """Alias of ``ember.diagonal`` with the matrix dims last by default."""
    from . import shape
    return shape.diagonal(A, offset=offset, dim1=dim1, dim2=dim2)


# ---------------------------------------------------------------------------------------
# norms

def _ord_str(ord):
    if isinstance(ord, float) and ord.is_integer():
        return str(int(ord))
    return str(ord)


class VectorNorm(Op):
    """``(sum |x|^p)^(1/p)`` over ``axes`` (inf: max |x|, -inf: min |x|, 0: count of
    nonzeros)."""
    save_inputs = (0,)
    save_outputs = (0,)
    _name = "LinalgVectorNormBackward0"

    def forward(self, x, ord, axes, keepdim):
        self.ord, self.axes, self.keepdim = ord, axes, keepdim
        self.in_shape = x.shape
        a = np.abs(x)
        if ord == 2:
            r = np.sqrt(np.sum(a * a, axis=axes, keepdims=keepdim))
        elif ord == 1:
            r = np.sum(a, axis=axes, keepdims=keepdim)
        elif ord == math.inf:
            r = np.max(a, axis=axes, keepdims=keepdim, initial=0) if a.size else \
                np.zeros(_reduced_shape(x.shape, axes, keepdim), a.dtype)
        elif ord == -math.inf:
            r = np.min(a, axis=axes, keepdims=keepdim)
        elif ord == 0:
            r = np.sum(a != 0, axis=axes, keepdims=keepdim).astype(a.dtype)
        else:
            with np.errstate(divide="ignore"):
                p = a.dtype.type(ord)
                r = np.power(np.sum(np.power(a, p), axis=axes, keepdims=keepdim), 1 / p)
        return np.asarray(r, dtype=a.dtype)

    def backward(self, grad):
        x, r = self.saved_tensors
        ord = self.ord
        xa = x._data
        shape = _reduced_shape(self.in_shape, self.axes, True)
        if not self.keepdim:
            grad = reshape(grad, shape)
            r = reshape(r, shape)
        if ord == 0:
            return mul(grad, np.zeros(xa.shape, dtype=xa.dtype))
        sign = np.sign(xa) if xa.dtype.kind != "c" else \
            np.where(xa == 0, 0, xa / np.where(xa == 0, 1, np.abs(xa)))
        if ord in (math.inf, -math.inf):
            ra = r._data.reshape(shape)
            mask = (np.abs(xa) == ra).astype(xa.dtype)
            count = mask.sum(axis=self.axes, keepdims=True)
            return mul(grad, sign * mask / np.where(count == 0, 1, count))
        if ord == 1:
            return mul(grad, sign)
        # a zero norm has a zero (sub)gradient: divide by +inf there instead of 0
        inf_at_zero = np.where(r._data == 0, np.inf, 0).astype(r._data.dtype)
        r_safe = add(r, inf_at_zero)
        if ord == 2:
            return mul(grad, div(x, r_safe))
        # d||x||_p = sign(x) |x|^(p-1) / ||x||^(p-1)
        ax = _Abs.apply(x)
        return mul(mul(grad, sign), div(_PowScalar.apply(ax, p=ord - 1),
                                        _PowScalar.apply(r_safe, p=ord - 1)))


def _reduced_shape(shape, axes, keepdim):
    if keepdim:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _norm_dims(dim, nd):
    if dim is None:
        return tuple(range(nd))
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    dims = tuple(_wrap_dim(int(d), nd) for d in dim)
    for d in dims:
        if dims.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return dims if dims else tuple(range(nd))


def linalg_vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None) -> Tensor:
    """Vector norm of ``x`` over ``dim`` (all dims when None): ``ord`` any real number,
    ``inf`` (max |x|), ``-inf`` (min |x|) or 0 (number of nonzeros)."""
    fn = "linalg.vector_norm"
    if isinstance(ord, bool) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind not in "fc":
        _check_float(x, fn)
    ord = float(ord)
    nd = x._data.ndim
    axes = _norm_dims(dim, nd)
    if (ord < 0 or ord == math.inf) and (x._data.size == 0 and
                                         (dim is None or any(x._data.shape[a] == 0
                                                             for a in axes))):
        raise RuntimeError(f"{fn} cannot compute the {_ord_str(ord)} norm on an empty tensor "
                           "because the operation does not have an identity")
    r = VectorNorm.apply(x, ord=ord, axes=axes, keepdim=bool(keepdim))
    return _out(r, out)


def _matrix_norm_last(A, ord):
    """Matrix norm over the last two dims (no keepdim)."""
    if ord == "fro":
        return VectorNorm.apply(A, ord=2.0, axes=(A._data.ndim - 2, A._data.ndim - 1),
                                keepdim=False)
    if ord == "nuc":
        return _sum(linalg_svdvals(A), -1)
    if ord in (2, -2):
        S = linalg_svdvals(A)
        if S._data.shape[-1] == 0:
            return _sum(S, -1)
        return _amax(S, -1) if ord == 2 else _amin(S, -1)
    if ord in (1, -1, math.inf, -math.inf):
        if A._data.size == 0:
            return _wrap(np.zeros(A._data.shape[:-2], dtype=np.abs(A._data[..., :0, :0]).dtype))
        axis = -2 if ord in (1, -1) else -1            # column sums (1) / row sums (inf)
        sums = _sum(_Abs.apply(A), axis)
        return _amax(sums, -1) if ord > 0 else _amin(sums, -1)
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def linalg_matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None,
                       out=None) -> Tensor:
    """Matrix norm over the two dims ``dim``: 'fro', 'nuc', 2 / -2 (largest / smallest
    singular value), 1 / -1 (max / min column abs sum), inf / -inf (rows)."""
    fn = "linalg.matrix_norm"
    if A._data.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    if dtype is not None:
        A = A.to(dtype)
    if A._data.dtype.kind not in "fc":
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got "
                           f"{_sname(A)}")
    if isinstance(dim, (int, np.integer)) or len(dim) != 2:
        d = dim if isinstance(dim, (int, np.integer)) else ", ".join(map(str, dim))
        raise RuntimeError(f"{fn}: dim must be a 2-tuple. Got {d}")
    nd = A._data.ndim
    d0, d1 = _wrap_dim(dim[0], nd), _wrap_dim(dim[1], nd)
    if d0 == d1:
        raise RuntimeError(f"{fn}: dims must be different. Got ({dim[0]}, {dim[1]})")
    if not (isinstance(ord, str) and ord in ("fro", "nuc")) and \
            ord not in (1, -1, 2, -2, math.inf, -math.inf):
        raise RuntimeError(f"{fn}: Order {ord} not supported.")
    rest = [i for i in range(nd) if i not in (d0, d1)]
    At = A if (d0, d1) == (nd - 2, nd - 1) else permute(A, tuple(rest) + (d0, d1))
    r = _matrix_norm_last(At, ord)
    if keepdim:
        r = reshape(r, tuple(1 if i in (d0, d1) else s for i, s in enumerate(A._data.shape)))
    return _out(r, out)


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None) -> Tensor:
    """Vector or matrix norm, as ``torch.linalg.norm``: an int ``dim`` (or 1-tuple) gives a
    vector norm, a 2-tuple a matrix norm; with ``dim=None`` the input is flattened when
    ``ord`` is None, else it must be 1-D (vector norm) or 2-D (matrix norm)."""
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    if dim is not None:
        if len(dim) == 2 or isinstance(ord, str):
            return linalg_matrix_norm(A, "fro" if ord is None else ord,
                                      dim if len(dim) != 1 else dim[0], keepdim,
                                      dtype=dtype, out=out)
        return linalg_vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype,
                                  out=out)
    if ord is None:
        return linalg_vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    nd = A._data.ndim
    if nd == 2:
        return linalg_matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)
    if nd == 1:
        return linalg_vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D "
                       f"or 2D. Got {nd}D.")


def linalg_cond(A, p=None) -> Tensor:
    """Condition number ``||A||_p ||A^-1||_p``; for p in (None, 2, -2) the ratio of extreme
    singular values (any shape), otherwise A must be square (inf if singular)."""
    fn = "linalg.cond"
    _check_matrix(A, fn)
    _check_float(A, fn)
    if p in (None, 2, -2):
        S = linalg_svdvals(A)
        if S._data.shape[-1] == 0:
            return _wrap(np.zeros(A._data.shape[:-2], S._data.dtype))
        big, small = _amax(S, -1), _amin(S, -1)
        return div(big, small) if p != -2 else div(small, big)
    if not (p in ("fro", "nuc") or p in (1, -1, math.inf, -math.inf)):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    _check_matrix(A, f"linalg.cond(ord={p})", square=True)
    info = _singular_info(A._data)
    if np.any(info):
        # singular matrices have infinite condition number; others are computed normally
        ok = (info == 0)[..., None, None].astype(A._data.dtype)
        eye = np.eye(A._data.shape[-1], dtype=A._data.dtype)
        safe = add(mul(A, ok), eye * (1 - ok))
        r = mul(linalg_matrix_norm(safe, p), linalg_matrix_norm(_inv(safe), p))
        return add(r, np.where(info == 0, 0, np.inf).astype(r._data.dtype))
    return mul(linalg_matrix_norm(A, p), linalg_matrix_norm(_inv(A), p))


def linalg_cross(input, other, *, dim=-1, out=None) -> Tensor:
    """Cross product along ``dim`` (default the last), broadcasting."""
    return _out(_cross(input, other, dim), out)


def linalg_matmul(input, other, *, out=None) -> Tensor:
    """Alias of :func:`matmul`."""
    return matmul(input, other, out=out)
