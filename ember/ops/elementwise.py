"""Elementwise operations: arithmetic, pointwise math, comparisons, logic.

Binary operations accept Tensors and Python scalars on either side. Operands are first
brought to the dtype ``ember.result_type`` gives (PyTorch's promotion, not NumPy's), then the
NumPy kernel runs; a Python scalar stays a scalar, so NumPy keeps the tensor's dtype.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._dtype import result_type
from ._op import Op, Tensor, _wrap, tensor_method
from .inplace import inplace_update

__all__ = ["add", "sub", "mul", "div", "neg"]

_SCALARS = (int, float, bool, complex)


class Cast(Op):
    """Convert to another dtype; the gradient is converted back by the engine."""

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, grad):
        return grad

    def name(self):
        return "ToCopyBackward0"


def _cast(t: Tensor, dt) -> Tensor:
    if t.dtype is dt:
        return t
    return Cast.apply(t, dtype=_dtype.to_np(dt))


def promote(a, b):
    """Bring two operands (Tensor or Python scalar) to their common dtype.

    Returns ``(a, b)``: Tensors cast where needed, Python scalars left as scalars (NumPy then
    keeps the tensor's dtype) unless the scalar raises the category (``int_tensor * 0.5``),
    in which case the tensor is cast to the result dtype.
    """
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        if a._data.dtype is b._data.dtype or a._data.dtype == b._data.dtype:
            return a, b
        rt = result_type(a, b)
        return _cast(a, rt), _cast(b, rt)
    t, s = (a, b) if ta else (b, a)
    if not ta and not tb:
        raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    if isinstance(s, np.ndarray):
        s = _wrap(s)
        return promote(a if ta else s, s if ta else b)
    if not isinstance(s, _SCALARS) and not isinstance(s, np.generic):
        raise TypeError(f"unsupported operand type: Tensor and {type(s).__name__}")
    kind = t._data.dtype.kind
    if type(s) is float and kind in "fc" or type(s) is int and kind in "iufc" or \
            type(s) is bool and kind != "b":
        return a, b
    rt = result_type(t, s)
    if rt is not t.dtype:
        t = _cast(t, rt)
    if isinstance(s, np.generic):
        s = s.item()
    return (t, s) if ta else (s, t)


# ------------------------------------------------------------------ arithmetic
class Add(Op):
    def forward(self, a, b):
        return np.add(a, b)

    def backward(self, grad):
        return grad, grad


class Sub(Op):
    def forward(self, a, b):
        return np.subtract(a, b)

    def backward(self, grad):
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return np.multiply(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        ga = grad * b if self.needs_input_grad[0] else None
        gb = grad * a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return np.true_divide(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        ga = grad / b if self.needs_input_grad[0] else None
        gb = -grad * a / (b * b) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Op):
    def forward(self, x):
        return np.negative(x)

    def backward(self, grad):
        return -grad


def _float_operands(a, b):
    """Promote, then make integer results floating (true division)."""
    a, b = promote(a, b)
    t = a if isinstance(a, Tensor) else b
    if t._data.dtype.kind in "biu":
        d = _dtype.get_default_dtype()
        a = _cast(a, d) if isinstance(a, Tensor) else a
        b = _cast(b, d) if isinstance(b, Tensor) else b
    return a, b


@tensor_method
def add(input, other, *, alpha=1, out=None) -> Tensor:
    """``input + alpha * other``, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote(input, other)
    r = Add.apply(a, b)
    return r if out is None else _out(r, out)


@tensor_method
def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """``input - alpha * other``, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote(input, other)
    if (isinstance(a, Tensor) and a._data.dtype.kind == "b") and \
            (not isinstance(b, Tensor) or b._data.dtype.kind == "b"):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    return _out(Sub.apply(a, b), out)


subtract = sub


@tensor_method
def mul(input, other, *, out=None) -> Tensor:
    """Elementwise product, broadcasting."""
    a, b = promote(input, other)
    r = Mul.apply(a, b)
    return r if out is None else _out(r, out)


multiply = mul


@tensor_method
def div(input, other, *, rounding_mode=None, out=None) -> Tensor:
    """True division (``rounding_mode=None``), or ``'trunc'``/``'floor'`` rounding."""
    if rounding_mode is None:
        a, b = _float_operands(input, other)
        return _out(Div.apply(a, b), out)
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                     f"found '{rounding_mode}'")


divide = true_divide = div


@tensor_method
def neg(input: Tensor, *, out=None) -> Tensor:
    if input._data.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return _out(Neg.apply(input), out)


negative = neg


def _out(result: Tensor, out):
    """Support the ``out=`` argument: write the result into ``out`` (resized if empty)."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"out must be a Tensor, got {type(out).__name__}")
    if out._data.shape != result._data.shape:
        if out._data.size == 0:
            out._data = np.empty(result._data.shape, dtype=out._data.dtype)
        else:
            raise RuntimeError(f"output with shape {list(out.shape)} doesn't match the "
                               f"broadcast shape {list(result.shape)}")
    if result.requires_grad:
        raise RuntimeError("out=... arguments don't support automatic differentiation, but "
                           "one of the arguments requires grad.")
    return inplace_update(out, result)


# ------------------------------------------------------------------ in-place forms
def _inplace(fn):
    """Make ``x.op_(...)`` from ``op``: compute out of place, write into x's memory."""
    def method(self, *args, **kwargs):
        return inplace_update(self, fn(self, *args, **kwargs))
    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    setattr(Tensor, method.__name__, method)
    return method


for _f in (add, sub, mul, div, neg):
    _inplace(_f)
Tensor.subtract_ = Tensor.sub_
Tensor.multiply_ = Tensor.mul_
Tensor.divide_ = Tensor.true_divide_ = Tensor.div_
Tensor.negative_ = Tensor.neg_
