"""Elementwise operations: arithmetic, pointwise math, comparisons, logic.

Binary operations accept Tensors and Python scalars on either side. Operands are first
brought to the dtype ``ember.result_type`` gives (PyTorch's promotion, not NumPy's), then the
NumPy kernel runs; a Python scalar stays a scalar, so NumPy keeps the tensor's dtype.
Functions that PyTorch computes in floating point (``exp``, ``sqrt``, true division, ...) give
integer and bool inputs the default float dtype.

Every forward runs with NumPy's floating-point warnings switched off (PyTorch never warns
about ``log(0)`` or ``inf - inf``); see ``_quiet``. The backward of each op is written in
ember operations, so double backward works. Complex inputs follow PyTorch's convention: the
gradient of a holomorphic ``f`` is ``grad * conj(f'(z))``.

Every result comes out of an op (``Op.apply``), so that ``ember.onnx`` traces it: the
functions without a gradient (comparisons, ``isnan`` and the other predicates, logical and
bitwise ops, ``isclose``, the copies rounding gives integer inputs) go through the generic
``Predicate`` op, and integer inputs are converted to floating point by a ``Cast``.

``erf``, ``erfc``, ``erfinv`` and ``i0`` are computed here in NumPy (which has no such
functions), in float64, to within a few units in the 15th significant digit; see the section
"special functions".
"""
from __future__ import annotations

import builtins
import contextvars
import functools
import math
import warnings

import numpy as np

from .. import _dtype
from .._dtype import result_type, NP_TO_DTYPE
from .._tensor import _TRACE_HOOK, _trace_check
from ..autograd.grad_mode import STATE
from ..autograd.graph import SavedTensor
from ._op import Op, Tensor, _wrap, tensor_method
from .inplace import inplace_update

__all__ = []

_SCALARS = (int, float, bool, complex)
_ndarray = np.ndarray
_babs, _bmax = builtins.abs, builtins.max      # (abs, max and round are ops here)


def _export(*fns, method=True, inplace=False):
    """Make functions public (``ember.<name>``), Tensor methods, and optionally give them
    ``name_`` in-place methods."""
    for f in fns:
        __all__.append(f.__name__)
        if method:
            tensor_method(f)
        if inplace:
            _inplace(f)
    return fns[0]


def _alias(fn, *names):
    """Further public names for ``fn``, with its Tensor method and in-place method (if it
    has them) under the same names."""
    meth = getattr(Tensor, fn.__name__, None)
    ip = getattr(Tensor, fn.__name__ + "_", None)
    for a in names:
        globals()[a] = fn
        __all__.append(a)
        if meth is fn:
            setattr(Tensor, a, fn)
        if ip is not None:
            setattr(Tensor, a + "_", ip)


# ---------------------------------------------------------------------------------------
# NumPy floating-point errors: silenced in every forward
try:
    # NumPy >= 2 keeps its error state in a context variable; setting it directly costs a
    # fifth of entering np.errstate, which matters on the hottest path of the framework.
    from numpy._core._ufunc_config import _extobj_contextvar as _FPSTATE
    with np.errstate(all="ignore"):
        _FP_IGNORE = _FPSTATE.get()
    _quiet = functools.partial(_FPSTATE.set, _FP_IGNORE)     # C calls: no Python frame
    _loud = _FPSTATE.reset
    # Cheaper still for a single kernel call: run it inside a context of our own in which the
    # error state is already "ignore". Context.run only swaps the thread's current context
    # (no allocation), where set/reset above allocate a token and two context mappings: on
    # small arrays that is a third of the kernel's own time. The user's error state is never
    # touched. One context serves every thread: while a kernel in one thread has released
    # the GIL, entering it from another raises RuntimeError, and the caller then takes the
    # set/reset path (see _call2). Only NumPy kernels run inside (never Python code that
    # could re-enter it).
    _QUIET_CONTEXT = contextvars.Context()
    _QUIET_CONTEXT.run(_FPSTATE.set, _FP_IGNORE)
    _run_quiet = _QUIET_CONTEXT.run
except ImportError:  # pragma: no cover - NumPy 1.x
    def _quiet():
        e = np.errstate(all="ignore")
        e.__enter__()
        return e

    def _loud(e):
        e.__exit__(None, None, None)

    def _run_quiet(fn, *args):
        with np.errstate(all="ignore"):
            return fn(*args)


def _bcast_error(a, b):
    """PyTorch's RuntimeError for operands whose shapes do not broadcast."""
    sa, sb = np.shape(a), np.shape(b)
    n = _bmax(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            return RuntimeError(f"The size of tensor a ({pa[i]}) must match the size of tensor "
                                f"b ({pb[i]}) at non-singleton dimension {i}")
    return RuntimeError(f"shapes {list(sa)} and {list(sb)} are not broadcastable")


# What the quiet fast path (_run_quiet) lets through to the general path: a broadcasting
# error (reported in PyTorch's words there), a Python int out of the dtype's range (wrapped
# around there), or the quiet context being in use by another thread.
_RETRY = (ValueError, OverflowError, RuntimeError)


def _call2(ufunc, a, b):
    """``ufunc(a, b)`` with FP warnings off and PyTorch's broadcasting error."""
    try:
        return _run_quiet(ufunc, a, b)
    except _RETRY:
        pass
    tok = _quiet()
    try:
        return ufunc(a, b)
    except ValueError:
        raise _bcast_error(a, b) from None
    except OverflowError:
        return ufunc(*_fit_ints(a, b))
    finally:
        _loud(tok)


def _fit_int(s, dt):
    """A Python int outside an integer dtype's range, wrapped around into it (PyTorch
    converts the scalar with C semantics: ``uint8_tensor + 300`` adds 44)."""
    if type(s) is int and dt.kind in "iu" and not _in_range(s, dt):
        return np.array(s).astype(dt)
    return s


_IRANGE = {}


def _in_range(v, dt):
    r = _IRANGE.get(dt)
    if r is None:
        i = np.iinfo(dt)
        r = _IRANGE[dt] = (int(i.min), int(i.max))
    return r[0] <= v <= r[1]


def _fit_ints(a, b):
    if isinstance(a, _ndarray):
        return a, _fit_int(b, a.dtype)
    return _fit_int(a, b.dtype), b


def _call1(ufunc, x):
    """``ufunc(x)`` with FP warnings off."""
    try:
        return _run_quiet(ufunc, x)
    except RuntimeError:            # the quiet context is in use by another thread
        pass
    tok = _quiet()
    try:
        return ufunc(x)
    finally:
        _loud(tok)


# ---------------------------------------------------------------------------------------
# small helpers
def _tname(x) -> str:
    """PyTorch's scalar type name ('Float', 'Long', 'Bool', ...) of a tensor or array."""
    arr = x._data if isinstance(x, Tensor) else np.asarray(x)
    return NP_TO_DTYPE[arr.dtype]._legacy[:-6]


def _not_impl(kernel, x):
    return NotImplementedError(f'"{kernel}" not implemented for \'{_tname(x)}\'')


def _type_error(fn, arg, pos, value):
    return TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not "
                     f"{type(value).__name__}")


def _need_tensor(x, fn, arg, pos):
    if not isinstance(x, Tensor):
        raise _type_error(fn, arg, pos, x)


def _default_float(t: Tensor) -> Tensor:
    """An integer or bool tensor as the default float dtype (a ``Cast``: such tensors never
    require grad, but the ONNX tracer must see the conversion)."""
    return Cast.apply(t, dtype=_dtype._default[0].np)


def _conj(t: Tensor) -> Tensor:
    return conj(t) if t._data.dtype.kind == "c" else t


def _zeros(t: Tensor) -> Tensor:
    return _wrap(np.zeros(t._data.shape, dtype=t._data.dtype))


def _mask(cond_array) -> Tensor:
    return _wrap(np.asarray(cond_array))


def _arr(x):
    return x._data if isinstance(x, Tensor) else x


class Predicate(Op):
    """An elementwise function whose result never carries gradient: comparisons, the
    ``is*`` predicates, logical and bitwise operations, ``isclose``, and the copies that
    rounding functions return for integer inputs.

    One op class for all of them, so that ``ember.onnx`` traces them (a NumPy result wrapped
    directly would be invisible to it): ``Predicate.apply(a, b, fn=np.greater, name="gt")``
    computes ``fn(*arrays, **kw)``; ``name`` says which function it is (``"gt"``,
    ``"isnan"``, ``"bitwise_and"``, ``"copy"``, ...) and is kept as ``self.fn_name``. The
    hottest ones are subclasses fixed to one function (``_predicate_op``), which go through
    the unrolled ``_apply1``/``_apply2`` paths without keyword packing: a third of the cost
    of a small comparison. Either way ``fn_name`` names the function."""
    differentiable = False
    fn_name = None

    def forward(self, *arrays, fn, name, **kw):
        self.fn_name = name
        return fn(*arrays, **kw)


def _predicate_op(name, fn, arity):
    """A ``Predicate`` subclass computing ``fn`` (of ``arity`` arrays) with ``fn_name``
    ``name``, for ``_apply1``/``_apply2``."""
    if arity == 1:
        def forward(self, x):
            return fn(x)
    else:
        def forward(self, a, b):
            return fn(a, b)
    return type(f"Predicate_{name}", (Predicate,),
                {"fn_name": name, "forward": forward, "__module__": __name__,
                 "__doc__": f"``{name}`` as a Predicate (see there)."})


def _predicate(name, fn, *inputs, **kw):
    """``Predicate.apply`` with PyTorch's error for operands that do not broadcast."""
    try:
        return Predicate.apply(*inputs, fn=fn, name=name, **kw)
    except ValueError:
        raise _bcast_error(*[_arr(x) for x in inputs[:2]]) from None


def _apply_pred2(op, a, b):
    """A two-operand ``Predicate`` subclass on ``a`` and ``b`` (either may be a number),
    with PyTorch's error for operands that do not broadcast."""
    try:
        return op._apply2(a, b) if isinstance(a, Tensor) else op.apply(a, b)
    except ValueError:
        raise _bcast_error(_arr(a), _arr(b)) from None


_Copy = _predicate_op("copy", np.copy, 1)


def _copy(t: Tensor) -> Tensor:
    """A copy of ``t`` made by an op (what rounding gives for integer inputs)."""
    return _Copy._apply1(t)


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
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            if da is db or da == db:
                return a, b
            rt = result_type(a, b)
            return _cast(a, rt), _cast(b, rt)
        t, s = a, b
    elif isinstance(b, Tensor):
        t, s = b, a
    else:
        raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    # the common cases first: a Python scalar that does not change the tensor's dtype
    ts, kind = type(s), t._data.dtype.kind
    if ts is float:
        if kind in "fc":
            return a, b
    elif ts is int:
        if kind in "iufc":
            return a, b
    elif ts is bool:
        if kind != "b":
            return a, b
    elif isinstance(s, np.ndarray):
        s = _wrap(s)
        return promote(a, s) if t is a else promote(s, b)
    elif not isinstance(s, _SCALARS) and not isinstance(s, np.generic):
        raise TypeError(f"unsupported operand type: Tensor and {type(s).__name__}")
    rt = result_type(t, s)
    if rt is not t.dtype:
        t = _cast(t, rt)
    if isinstance(s, np.generic):
        s = s.item()
    return (t, s) if isinstance(a, Tensor) else (s, t)


def _promote3(a, b, c):
    """Cast three tensors to their common dtype."""
    rt = result_type(a, b, c)
    return _cast(a, rt), _cast(b, rt), _cast(c, rt)


def _float_operands(a, b):
    """Promote, then make integer results floating (true division, atan2, ...)."""
    a, b = promote(a, b)
    t = a if isinstance(a, Tensor) else b
    if t._data.dtype.kind in "biu":
        d = _dtype.get_default_dtype()
        a = _cast(a, d) if isinstance(a, Tensor) else a
        b = _cast(b, d) if isinstance(b, Tensor) else b
    return a, b


def _kind2(a, b) -> str:
    """The dtype kind of a promoted pair (one of them is a Tensor)."""
    return (a if isinstance(a, Tensor) else b)._data.dtype.kind


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


def _inplace(fn):
    """Make ``x.op_(...)`` from ``op``: compute out of place, write into x's memory."""
    def method(self, *args, **kwargs):
        r = fn(self, *args, **kwargs)
        if r._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the "
                               f"broadcast shape {list(r._data.shape)}")
        return _write_result(self, r)
    method.__name__ = fn.__name__ + "_"
    method.__qualname__ = "Tensor." + method.__name__
    method.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    setattr(Tensor, method.__name__, method)
    return method


def _write_result(t, r):
    """Write ``r`` (computed out of place from ``t``) into ``t``, keeping what the op that
    computed it saved consistent with PyTorch's in-place semantics."""
    node = r.grad_fn
    if node is None or not node._saved:
        return inplace_update(t, r)
    _keep_original(node, t)
    inplace_update(t, r)
    _saved_output_is(node, t)
    return t


def _keep_original(node, t):
    """The op that computed an in-place result from ``t`` (its input 0, the "self" of the
    in-place method) saved ``t``, whose memory the write is about to overwrite: give it a copy
    of the values before the write, with ``t``'s place in the graph, as PyTorch keeps the
    original self of in-place ops. A reference to ``t`` in another role (``x.mul_(x)``) is
    left alone, so that backward reports the modification as PyTorch does."""
    saved = node._saved
    roles = getattr(type(node), "save_inputs", ())
    hit = [j for j, i in enumerate(roles) if i == 0 and saved[j].tensor is t]
    if not hit:
        return
    snap = _wrap(t._data.copy())
    snap.grad_fn, snap._requires_grad = t.grad_fn, t._requires_grad
    if t._output_nr:
        snap._output_nr = t._output_nr
    node._saved = tuple(SavedTensor(snap) if j in hit else sv for j, sv in enumerate(saved))


def _saved_output_is(node, t):
    """After an in-place write the op's saved output is ``t`` itself: point the saved
    reference at ``t`` (its memory and version counter), so that a later in-place change of
    ``t`` is detected on backward."""
    if any(sv.output_nr is not None for sv in node._saved):
        node._saved = tuple(SavedTensor(t, sv.output_nr) if sv.output_nr is not None else sv
                            for sv in node._saved)


# =======================================================================================
# arithmetic
class Add(Op):
    def forward(self, a, b):
        try:
            return _run_quiet(np.add, a, b)         # (the hot path of _call2, inlined)
        except _RETRY:
            return _call2(np.add, a, b)

    def backward(self, grad):
        return grad, grad


class AddAlpha(Op):
    """``a + alpha * b``."""
    _name = "AddBackward0"

    def forward(self, a, b, alpha):
        self.alpha = alpha
        dt = a.dtype if isinstance(a, _ndarray) else b.dtype
        tok = _quiet()
        try:
            r = np.add(a, np.multiply(b, alpha))
        except ValueError:
            raise _bcast_error(a, b) from None
        except OverflowError:
            a, b = _fit_ints(a, b)
            r = np.add(a, np.multiply(b, _fit_int(alpha, dt)))
        finally:
            _loud(tok)
        return r if r.dtype == dt else r.astype(dt)

    def backward(self, grad):
        return grad, (grad * self.alpha.conjugate() if self.needs_input_grad[1] else None)


class SubAlpha(AddAlpha):
    """``a - alpha * b``, computed as ``a + (-alpha) * b``."""
    _name = "SubBackward0"


class Sub(Op):
    def forward(self, a, b):
        try:
            return _run_quiet(np.subtract, a, b)         # (the hot path of _call2, inlined)
        except _RETRY:
            return _call2(np.subtract, a, b)

    def backward(self, grad):
        return ((grad if self.needs_input_grad[0] else None),
                (-grad if self.needs_input_grad[1] else None))


class Mul(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        try:
            return _run_quiet(np.multiply, a, b)     # (the hot path of _call2, inlined)
        except _RETRY:
            return _call2(np.multiply, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        need = self.needs_input_grad
        ga = grad * _conj(b) if need[0] else None
        gb = grad * _conj(a) if need[1] else None
        return ga, gb


class MulScalar(Op):
    """``tensor * number``: nothing needs saving."""
    _name = "MulBackward0"

    def forward(self, x, s):
        self.s = s
        try:
            return _run_quiet(np.multiply, x, s)
        except _RETRY:
            return _call2(np.multiply, x, s)

    def backward(self, grad):
        return grad * self.s.conjugate(), None


class DivScalar(Op):
    """``tensor / number``: nothing needs saving."""
    _name = "DivBackward0"

    def forward(self, x, s):
        self.s = s
        return _call2(np.true_divide, x, s)

    def backward(self, grad):
        return grad / self.s.conjugate(), None


class Div(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return _call2(np.true_divide, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        ga = grad / _conj(b) if self.needs_input_grad[0] else None
        gb = -grad * _conj(a / b / b) if self.needs_input_grad[1] else None
        return ga, gb


def _trunc_div_int(a, b):
    """Integer division rounding toward zero (NumPy's ``//`` rounds toward -inf)."""
    q = np.floor_divide(a, b)
    return q + ((np.remainder(a, b) != 0) & ((np.asarray(a) < 0) != (np.asarray(b) < 0)))


class DivMode(Op):
    """Division with ``rounding_mode`` 'trunc' or 'floor': piecewise constant, so the
    gradient is zero (PyTorch returns zeros, not None)."""
    _name = "DivBackward0"

    def forward(self, a, b, mode):
        int_ = np.asarray(a).dtype.kind in "iu" and np.asarray(b).dtype.kind in "iu"
        tok = _quiet()
        try:
            if mode == "floor":
                return np.floor_divide(a, b)
            return _trunc_div_int(a, b) if int_ else np.trunc(np.true_divide(a, b))
        except ValueError:
            raise _bcast_error(a, b) from None
        finally:
            _loud(tok)

    def backward(self, grad):
        z = _zeros(grad)
        return z, z


class FloorDivide(Op):
    """``floor_divide``: PyTorch defines no derivative for it."""

    def forward(self, a, b):
        return _call2(np.floor_divide, a, b)

    def backward(self, grad):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


class Neg(Op):
    def forward(self, x):
        return np.negative(x)

    def backward(self, grad):
        return -grad


def _check_int_zero(b, what="ZeroDivisionError"):
    """Integer division by zero raises in PyTorch (NumPy would return 0 with a warning)."""
    if isinstance(b, Tensor):
        if not b._data.all():
            raise RuntimeError(what)
    elif b == 0:
        raise RuntimeError(what)


def _alpha_check(kind, alpha):
    if kind in "biu" and isinstance(alpha, float):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    if isinstance(alpha, bool) and kind != "b":
        raise RuntimeError("Boolean alpha only supported for Boolean results.")


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """``input + alpha * other``, broadcasting; either operand may be a Python scalar."""
    if isinstance(input, Tensor) and isinstance(other, Tensor) and \
            input._data.dtype is other._data.dtype and alpha == 1 and alpha is not True:
        r = Add._apply2(input, other)        # the common case, with nothing to promote
        return r if out is None else _out(r, out)
    a, b = promote(input, other)
    if alpha == 1 and alpha is not True:
        r = Add._apply2(a, b) if isinstance(a, Tensor) else Add.apply(a, b)
    else:
        _alpha_check(_kind2(a, b), alpha)
        r = AddAlpha.apply(a, b, alpha=alpha)
    return r if out is None else _out(r, out)


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """``input - alpha * other``, broadcasting; either operand may be a Python scalar."""
    ba = input._data.dtype.kind == "b" if isinstance(input, Tensor) else type(input) is bool
    bb = other._data.dtype.kind == "b" if isinstance(other, Tensor) else type(other) is bool
    if ba or bb:
        if ba and bb:
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                               "supported. Use the `^` or `logical_xor()` operator instead.")
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    a, b = promote(input, other)
    if alpha == 1 and alpha is not True:
        r = Sub._apply2(a, b) if isinstance(a, Tensor) else Sub.apply(a, b)
    else:
        _alpha_check(_kind2(a, b), alpha)
        r = SubAlpha.apply(a, b, alpha=-alpha)
    return r if out is None else _out(r, out)


def rsub(input, other, *, alpha=1) -> Tensor:
    """``other - alpha * input`` (subtraction with the operands swapped)."""
    return sub(other, input, alpha=alpha)


def mul(input, other, *, out=None) -> Tensor:
    """Elementwise product, broadcasting; either operand may be a Python scalar."""
    if isinstance(input, Tensor) and isinstance(other, Tensor) and \
            input._data.dtype is other._data.dtype:
        r = Mul._apply2(input, other)        # the common case, with nothing to promote
        return r if out is None else _out(r, out)
    a, b = promote(input, other)
    if isinstance(a, Tensor):
        r = Mul._apply2(a, b) if isinstance(b, Tensor) else MulScalar._apply2(a, b)
    else:
        r = MulScalar._apply2(b, a)
    return r if out is None else _out(r, out)


def div(input, other, *, rounding_mode=None, out=None) -> Tensor:
    """True division (``rounding_mode=None``; integers give the default float dtype), or
    division rounded toward zero (``'trunc'``) or toward -inf (``'floor'``) in the operands'
    promoted dtype."""
    if rounding_mode is None:
        a, b = _float_operands(input, other)
        if isinstance(b, Tensor):
            r = Div._apply2(a, b) if isinstance(a, Tensor) else Div.apply(a, b)
        else:
            r = DivScalar._apply2(a, b)
        return r if out is None else _out(r, out)
    if rounding_mode != "trunc" and rounding_mode != "floor":
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    a, b = promote(input, other)
    kind = _kind2(a, b)
    if kind in "bc":
        raise _not_impl(f"div_{rounding_mode}_cpu", a if isinstance(a, Tensor) else b)
    if kind in "iu":
        _check_int_zero(b)
    return _out(DivMode.apply(a, b, mode=rounding_mode), out)


def floor_divide(input, other, *, out=None) -> Tensor:
    """``input // other``: division rounded toward -inf (Python's ``//``); integers stay
    integers. Not differentiable (as in PyTorch)."""
    a, b = promote(input, other)
    kind = _kind2(a, b)
    if kind in "bc":
        raise _not_impl("div_floor_cpu", a if isinstance(a, Tensor) else b)
    if kind in "iu":
        _check_int_zero(b)
    return _out(FloorDivide.apply(a, b), out)


class Remainder(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return _call2(np.remainder, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        gb = -grad * div(a, b, rounding_mode="floor") if self.needs_input_grad[1] else None
        return grad, gb


class RemainderScalarSelf(Op):
    """``number % tensor``: PyTorch defines no derivative for this form."""
    _name = "RemainderBackward0"

    def forward(self, a, b):
        return _call2(np.remainder, a, b)

    def backward(self, grad):
        raise RuntimeError("derivative for aten::remainder is not implemented")


class Fmod(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return _call2(np.fmod, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        gb = -grad * div(a, b, rounding_mode="trunc") if self.needs_input_grad[1] else None
        return grad, gb


def remainder(input, other, *, out=None) -> Tensor:
    """Python's ``%``: ``input - other * floor(input / other)``, which has the sign of
    ``other``."""
    a, b = promote(input, other)
    kind = _kind2(a, b)
    if kind in "bc":
        raise _not_impl("remainder_cpu", a if isinstance(a, Tensor) else b)
    if kind in "iu":
        _check_int_zero(b)
    op = Remainder if isinstance(a, Tensor) else RemainderScalarSelf
    return _out(op.apply(a, b), out)


def fmod(input, other, *, out=None) -> Tensor:
    """C's ``fmod``: ``input - other * trunc(input / other)``, which has the sign of
    ``input``."""
    _need_tensor(input, "fmod", "input", 1)
    a, b = promote(input, other)
    kind = _kind2(a, b)
    if kind in "bc":
        raise _not_impl("fmod_cpu", a)
    if kind in "iu":
        _check_int_zero(b)
    return _out(Fmod.apply(a, b), out)


def neg(input: Tensor, *, out=None) -> Tensor:
    """``-input``."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    r = Neg.apply(input)
    return r if out is None else _out(r, out)


_export(add, sub, mul, div, neg, inplace=True)


# ------------------------------------------------------------------ direct in-place paths
# The in-place forms optimizers run on every step (p.add_(g, alpha=-lr), m.mul_(b).add_(g),
# v.addcmul_(g, g), p.addcdiv_(m, d), m.lerp_(g, w), ...) write straight into the tensor's
# memory with one NumPy call when no graph is being recorded and every operand is a float
# tensor of the tensor's dtype or a Python number. Anything else (a graph to record, another
# dtype, an error to report) takes the general path: compute out of place, then write.
def _direct_ok(self, args):
    a = self._data
    if a.dtype.kind != "f" or self._inference and not STATE.inference:
        return False
    if _TRACE_HOOK[0] is not None:        # ember.onnx is tracing: it must see the op
        return False
    rec = STATE.enabled
    if rec and self._requires_grad:
        return False
    for v in args:
        if isinstance(v, Tensor):
            if v._data.dtype != a.dtype or rec and v._requires_grad:
                return False
        elif type(v) is not float and type(v) is not int:
            return False
    return True


def _direct_inplace(name, direct):
    """Give ``Tensor.<name>`` the direct path ``direct(array, *operands, **kwargs)``, which
    writes into ``array`` and returns True, or returns False to decline."""
    general = getattr(Tensor, name)

    def method(self, *args, **kwargs):
        kw_tensors = [v for v in kwargs.values() if isinstance(v, Tensor)] if kwargs else ()
        if _direct_ok(self, args) and (not kw_tensors or _direct_ok(self, kw_tensors)):
            if kw_tensors:
                kwargs = {k: v._data if isinstance(v, Tensor) else v for k, v in kwargs.items()}
            tok = _quiet()
            try:
                done = direct(self._data, *[a._data if isinstance(a, Tensor) else a
                                            for a in args], **kwargs)
            except ValueError:                # (numpy checks shapes before writing)
                done = False
            finally:
                _loud(tok)
            if done:
                self._vc[0] += 1
                return self
        return general(self, *args, **kwargs)
    method.__name__ = name
    method.__qualname__ = "Tensor." + name
    method.__doc__ = general.__doc__
    setattr(Tensor, name, method)


def _number(v):
    return type(v) is float or type(v) is int


def _d_add(a, o, alpha=1):
    if alpha == 1:
        np.add(a, o, out=a)
    elif _number(alpha):
        np.add(a, np.multiply(o, alpha), out=a)
    else:
        return False
    return True


def _d_sub(a, o, alpha=1):
    if alpha == 1:
        np.subtract(a, o, out=a)
    elif _number(alpha):
        np.subtract(a, np.multiply(o, alpha), out=a)
    else:
        return False
    return True


def _d_mul(a, o):
    np.multiply(a, o, out=a)
    return True


def _d_div(a, o, rounding_mode=None):
    if rounding_mode is not None:
        return False
    np.true_divide(a, o, out=a)
    return True


_direct_inplace("add_", _d_add)
_direct_inplace("sub_", _d_sub)
_direct_inplace("mul_", _d_mul)
_direct_inplace("div_", _d_div)
_alias(sub, "subtract")
_alias(mul, "multiply")
_alias(div, "divide", "true_divide")
_alias(neg, "negative")
_export(floor_divide, remainder, fmod, inplace=True)
_export(rsub, method=False)


# ------------------------------------------------------------------ powers
def _int_power(a, b):
    """Integer power with negative exponents as PyTorch defines them (NumPy raises):
    1 ** -n = 1, (-1) ** -n = +-1, anything else ** -n = 0."""
    b = np.asarray(b)
    if not (b < 0).any():
        return np.power(a, b)
    a = np.asarray(a)
    r = np.power(a, np.maximum(b, 0))
    neg = b < 0
    special = np.where(a == 1, 1, np.where(a == -1, np.where(b % 2 == 0, 1, -1), 0))
    return np.where(neg, special, r).astype(r.dtype)


class PowScalar(Op):
    """``x ** exponent`` for a Python-number exponent."""
    save_inputs = (0,)
    _name = "PowBackward0"

    def forward(self, x, exponent):
        self.exponent = exponent
        tok = _quiet()
        try:
            if exponent == 2:
                return np.square(x)
            if x.dtype.kind in "fc":
                if exponent == 0.5:
                    return np.sqrt(x)
                if exponent == -1:
                    return np.reciprocal(x)
                if exponent == 3:
                    return x * x * x
            return np.power(x, exponent)
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        e = self.exponent
        if e == 0:
            return _zeros(grad)
        if e == 2:
            return grad * _conj(x * 2)
        return grad * _conj(pow(x, e - 1) * e)


class PowTensor(Op):
    """``a ** b`` for two tensors."""
    save_inputs = (0, 1)
    save_outputs = (0,)
    _name = "PowBackward1"

    def forward(self, a, b):
        tok = _quiet()
        try:
            if a.dtype.kind in "iu":
                return _int_power(a, b)
            return np.power(a, b)
        except ValueError:
            raise _bcast_error(a, b) from None
        finally:
            _loud(tok)

    def backward(self, grad):
        a, b, out = self.saved_tensors
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = grad * _conj(where(b == 0, 0, b * pow(a, b - 1)))
        if self.needs_input_grad[1]:
            # d(a**b)/db = a**b * log(a); PyTorch defines it as 0 where a == 0 and b >= 0
            bre = real(b) if b._data.dtype.kind == "c" else b
            gb = grad * _conj(where((a == 0) & (bre >= 0), 0, out * log(a)))
        return ga, gb


class PowScalarBase(Op):
    """``base ** x`` for a Python-number base and a tensor exponent."""
    save_inputs = (0,)
    save_outputs = (0,)
    _name = "PowBackward2"

    def forward(self, x, base):
        self.base = base
        tok = _quiet()
        try:
            if x.dtype.kind in "iu":
                return _int_power(base, x).astype(x.dtype)
            return np.power(base, x)
        finally:
            _loud(tok)

    def backward(self, grad):
        x, out = self.saved_tensors
        base = self.base
        if base == 0:
            # log(0) = -inf; PyTorch zeroes the gradient where the exponent is >= 0
            xre = real(x) if x._data.dtype.kind == "c" else x
            return grad * _conj(where(xre >= 0, 0, out * float("-inf")))
        lb = complex(np.log(complex(base))) if isinstance(base, complex) else \
            (math.log(base) if base > 0 else float("nan"))
        return grad * _conj(out * lb)


def pow(input, exponent, *, out=None) -> Tensor:
    """``input ** exponent``. Either may be a Python number (not both). Integer tensors to
    negative integer scalar powers raise, as in PyTorch."""
    if isinstance(exponent, _ndarray):
        exponent = _wrap(exponent)
    if isinstance(exponent, Tensor):
        a, b = promote(input, exponent)
        if isinstance(a, Tensor):
            if a._data.dtype.kind == "b":
                raise _not_impl("pow", a)
            r = PowTensor.apply(a, b)
        else:
            r = PowScalarBase.apply(b, base=a)
    else:
        a, e = promote(input, exponent)
        if a._data.dtype.kind in "iu" and not isinstance(e, float) and e < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        r = PowScalar.apply(a, exponent=e)
    return r if out is None else _out(r, out)


def float_power(input, exponent, *, out=None) -> Tensor:
    """``input ** exponent`` computed in float64 (complex128 if either is complex)."""
    cplx = any(isinstance(v, complex) or isinstance(v, Tensor) and v._data.dtype.kind == "c"
               for v in (input, exponent))
    dt = _dtype.complex128 if cplx else _dtype.float64
    conv = complex if cplx else float
    a = _cast(input, dt) if isinstance(input, Tensor) else conv(input)
    b = _cast(exponent, dt) if isinstance(exponent, Tensor) else conv(exponent)
    return pow(a, b, out=out)


def _float_power_(self, exponent):
    dt = "complex128" if self.is_complex() or isinstance(exponent, complex) or \
        isinstance(exponent, Tensor) and exponent.is_complex() else "float64"
    if self.dtype.name != dt:
        names = {"float64": "Double", "complex128": "ComplexDouble"}
        raise RuntimeError(f"the base given to float_power_ has dtype {_tname(self)} but the "
                           f"operation's result requires dtype {names[dt]}")
    return _write_result(self, float_power(self, exponent))


def square(input, *, out=None) -> Tensor:
    """``input ** 2`` (bool inputs give int64, as in PyTorch)."""
    return pow(input, 2, out=out)


_export(pow, float_power, square, inplace=True)
Tensor.float_power_ = _float_power_


# ------------------------------------------------------------------ abs, reciprocal, ...
class Abs(Op):
    save_inputs = (0,)

    def forward(self, x):
        return np.abs(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * sgn(x)


def abs(input, *, out=None) -> Tensor:
    """``|input|``; complex inputs give their real magnitude."""
    if input._data.dtype.kind == "b":
        raise _not_impl("abs_cpu", input)
    r = Abs.apply(input)
    return r if out is None else _out(r, out)


def positive(input) -> Tensor:
    """Returns ``input`` itself (``+input``)."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


_export(abs, inplace=True)
_alias(abs, "absolute")
_export(positive)


class Addcmul(Op):
    save_inputs = (1, 2)

    def forward(self, x, t1, t2, value):
        self.value = value
        tok = _quiet()
        try:
            return np.add(x, np.multiply(np.multiply(t1, t2), value))
        finally:
            _loud(tok)

    def backward(self, grad):
        t1, t2 = self.saved_tensors
        v = self.value
        g1 = grad * _conj(t2 * v) if self.needs_input_grad[1] else None
        g2 = grad * _conj(t1 * v) if self.needs_input_grad[2] else None
        return grad, g1, g2


class Addcdiv(Op):
    save_inputs = (1, 2)

    def forward(self, x, t1, t2, value):
        self.value = value
        tok = _quiet()
        try:
            return np.add(x, np.multiply(np.true_divide(t1, t2), value))
        finally:
            _loud(tok)

    def backward(self, grad):
        t1, t2 = self.saved_tensors
        v = self.value
        g1 = grad * _conj(v / t2) if self.needs_input_grad[1] else None
        g2 = -grad * _conj(t1 * v / (t2 * t2)) if self.needs_input_grad[2] else None
        return grad, g1, g2


def _value_for(kind, value):
    # integer results take the integer part of ``value`` (PyTorch casts the scalar)
    if kind in "iu":
        return int(value)
    if kind == "b":
        return bool(value)
    return value


def addcmul(input, tensor1, tensor2, *, value=1, out=None) -> Tensor:
    """``input + value * tensor1 * tensor2``, broadcasting."""
    x, t1, t2 = _promote3(input, tensor1, tensor2)
    if x._data.dtype.kind == "b":
        raise _not_impl("addcmul_cpu_out", x)
    r = Addcmul.apply(x, t1, t2, value=_value_for(x._data.dtype.kind, value))
    return r if out is None else _out(r, out)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None) -> Tensor:
    """``input + value * tensor1 / tensor2``, broadcasting."""
    if tensor1._data.dtype.kind in "biu" and tensor2._data.dtype.kind in "biu":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))."
            "to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
            "float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    x, t1, t2 = _promote3(input, tensor1, tensor2)
    r = Addcdiv.apply(x, t1, t2, value=value)
    return r if out is None else _out(r, out)


_export(addcmul, addcdiv, inplace=True)


def _d_addcmul(a, t1, t2, value=1):
    if not (isinstance(t1, _ndarray) and isinstance(t2, _ndarray) and _number(value)):
        return False
    t = np.multiply(t1, t2)
    np.add(a, t if value == 1 else np.multiply(t, value), out=a)
    return True


def _d_addcdiv(a, t1, t2, value=1):
    if not (isinstance(t1, _ndarray) and isinstance(t2, _ndarray) and _number(value)):
        return False
    t = np.true_divide(t1, t2)
    np.add(a, t if value == 1 else np.multiply(t, value), out=a)
    return True


_direct_inplace("addcmul_", _d_addcmul)
_direct_inplace("addcdiv_", _d_addcdiv)


class Lerp(Op):
    """``start + weight * (end - start)`` with a tensor weight."""
    save_inputs = (0, 1, 2)
    _name = "LerpBackward1"

    def forward(self, s, e, w):
        tok = _quiet()
        try:
            d = e - s
            # the two forms are exact at weight 0 and 1 respectively (as PyTorch computes)
            return np.where(np.abs(w) < 0.5, s + w * d, e - d * (1 - w))
        finally:
            _loud(tok)

    def backward(self, grad):
        s, e, w = self.saved_tensors
        n = self.needs_input_grad
        return (grad * _conj(1 - w) if n[0] else None, grad * _conj(w) if n[1] else None,
                grad * _conj(e - s) if n[2] else None)


class LerpScalar(Op):
    _name = "LerpBackward0"

    def forward(self, s, e, weight):
        self.weight = weight
        tok = _quiet()
        try:
            d = e - s
            r = s + weight * d if _babs(weight) < 0.5 else e - d * (1 - weight)
            return r.astype(s.dtype, copy=False) if isinstance(r, _ndarray) else r
        finally:
            _loud(tok)

    def backward(self, grad):
        w = self.weight
        wc = w.conjugate() if isinstance(w, complex) else w
        return grad * (1 - wc), grad * wc


_DT_WORD = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def lerp(input, end, weight, *, out=None) -> Tensor:
    """Linear interpolation ``input + weight * (end - input)``; ``weight`` is a number or a
    tensor. ``input`` and ``end`` must have the same floating dtype."""
    _need_tensor(input, "lerp", "input", 1)
    _need_tensor(end, "lerp", "end", 2)
    dt = input.dtype
    if end.dtype is not dt:
        raise RuntimeError(f"expected dtype {_DT_WORD.get(dt.name, dt.name)} for `end` but got "
                           f"dtype {_DT_WORD.get(end.dtype.name, end.dtype.name)}")
    if input._data.dtype.kind not in "fc":
        raise _not_impl("lerp_kernel_tensor" if isinstance(weight, Tensor)
                        else "lerp_kernel_scalar", input)
    if isinstance(weight, Tensor):
        if weight.dtype is not dt:
            if weight._data.ndim:
                raise RuntimeError(f"expected dtype {_DT_WORD.get(dt.name, dt.name)} for "
                                   f"`weight` but got dtype "
                                   f"{_DT_WORD.get(weight.dtype.name, weight.dtype.name)}")
            weight = _cast(weight, dt)
        r = Lerp.apply(input, end, weight)
    else:
        r = LerpScalar.apply(input, end, weight=weight)
    return r if out is None else _out(r, out)


_export(lerp, inplace=True)


def _d_lerp(a, e, w):
    if not (isinstance(e, _ndarray) and _number(w)):
        return False
    d = np.subtract(e, a)
    if _babs(w) < 0.5:                        # the same two forms as LerpScalar
        np.add(a, np.multiply(d, w), out=a)
    else:
        np.subtract(e, np.multiply(d, 1 - w), out=a)
    return True


_direct_inplace("lerp_", _d_lerp)


# =======================================================================================
# special functions in NumPy: erf, erfc, erfinv, i0, i1
#
# All are computed in float64. erf(x) for |x| < 1 is x * P(x^2), and erfc(x) for
# 0.5 <= x < 8 is exp(-x^2) * G(x), where P and four pieces of G are Chebyshev interpolants
# built once (on first use) from the standard library's math.erf/math.erfc at 64 Chebyshev
# nodes, truncated at the degree where the exact coefficients fall below 2e-17 (for float64
# results) or 1e-10 (float32/float16: fewer terms), and evaluated by Horner's rule. For
# x >= 8 erfc uses its asymptotic series, whose truncation error there is below 1e-17.
# exp(-x^2) is formed as exp(-h^2) * exp(-(x-h)(x+h)) with h = x rounded to 24 bits (h^2 is
# exact), so that the rounding of x^2 costs no relative accuracy for large x. erfinv refines
# a closed-form first guess with two Halley steps. Measured against mpmath in float64:
# relative error below 2.5e-15 for erf, erfc (down to erfc's subnormal range) and erfinv,
# 2e-15 for i0 and i1.

_SQRT_PI = math.sqrt(math.pi)
_ERF = {}
# (a, b, degree for float64 results, degree for float32/float16 results)
_ERFC_PIECES = ((0.5, 1.0, 14, 9), (1.0, 2.0, 16, 11), (2.0, 4.0, 19, 12), (4.0, 8.0, 21, 13))
_ERF_P_DEGREES = (12, 8)


def _cheb_coeffs(f, a, b, deg, nodes=64):
    """Chebyshev coefficients (degree ``deg``) of ``f`` on [a, b], from ``nodes`` points."""
    k = np.arange(nodes)
    x = (a + b) / 2 + (b - a) / 2 * np.cos(np.pi * (k + 0.5) / nodes)
    y = np.array([f(float(v)) for v in x])
    # cos(j * theta_k) with the angle reduced exactly in integers: a float j * theta_k would
    # carry j times theta_k's rounding error into every coefficient
    m = np.outer(np.arange(deg + 1), 2 * k + 1) % (4 * nodes)
    w = np.cos(np.pi * m / (2 * nodes))
    c = np.array([math.fsum(y * w[j]) * 2.0 / nodes for j in range(deg + 1)])
    c[0] /= 2
    return c


def _monomial(cheb):
    """Chebyshev coefficients -> monomial ones, highest degree first (for ``_horner``)."""
    return np.polynomial.chebyshev.cheb2poly(cheb)[::-1].copy()


def _horner(coef, t):
    r = t * coef[0] + coef[1]
    for c in coef[2:]:
        r *= t
        r += c
    return r


def _exp_sq_scalar(v):
    h = float(np.float32(v))
    return math.exp(h * h) * math.exp((v - h) * (v + h))


def _erf_tables(single):
    """(P, [(a, b, G)], asymptotic coefficients) for float64 (``single`` False) or
    float32/float16 results."""
    tab = _ERF.get(single)
    if tab is None:
        i = 1 if single else 0
        p = _cheb_coeffs(lambda u: math.erf(math.sqrt(u)) / math.sqrt(u), 0.0, 1.0,
                         _ERF_P_DEGREES[i])
        g = [(a, b, _monomial(_cheb_coeffs(lambda v: math.erfc(v) * _exp_sq_scalar(v), a, b,
                                           d[i])))
             for a, b, *d in _ERFC_PIECES]
        # sqrt(pi) x exp(x^2) erfc(x) ~ sum_n (-1)^n (2n-1)!! / (2x^2)^n, for x >= 8
        n_asym = 7 if single else 18
        asym = np.cumprod([1.0] + [-(2 * n - 1) / 2.0 for n in range(1, n_asym)])[::-1].copy()
        tab = _ERF[single] = (_monomial(p), g, asym)
    return tab


def _exp_neg_sq(x):
    """exp(-x^2) for a float64 1-d array (in place on temporaries: these arrays are big)."""
    h = x.astype(np.float32).astype(np.float64)
    d = x - h
    d *= x + h
    np.negative(d, out=d)
    np.exp(d, out=d)
    np.multiply(h, h, out=h)
    np.negative(h, out=h)
    np.exp(h, out=h)
    h *= d
    return h


def _erf_small(x, tab):
    """erf for |x| <= 1."""
    return x * _horner(tab[0], 2 * x * x - 1)


def _where(m):
    """Indices where ``m`` holds: integer gathers and scatters are several times faster than
    boolean-mask ones on large arrays."""
    return np.flatnonzero(m)


def _erfc_pos(x, tab):
    """erfc for x >= 0.5 (float64 1-d array; nan stays nan)."""
    out = np.empty_like(x)
    for a, b, c in tab[1]:
        i = _where((x >= a) & (x < b))
        if i.size:
            xm = x.take(i)
            t = xm * (2 / (b - a))
            t -= (a + b) / (b - a)
            p = _horner(c, t)
            p *= _exp_neg_sq(xm)
            out[i] = p
    i = _where(~(x < 8))                           # also nan
    if i.size:
        xm = np.minimum(x.take(i), 30.0)           # erfc(30) underflows; keeps inf finite
        out[i] = _exp_neg_sq(xm) * _horner(tab[2], 1.0 / (xm * xm)) / (xm * _SQRT_PI)
    return out


def _erf_np(x, single=False):
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    tab = _erf_tables(single)
    ax = np.abs(x)
    out = np.empty_like(x)
    i = _where(ax < 1)
    out[i] = _erf_small(x.take(i), tab)
    i = _where((ax >= 1) & (ax < 6))               # erf is 1 in float64 from 5.93 on
    if i.size:
        out[i] = np.copysign(1 - _erfc_pos(ax.take(i), tab), x.take(i))
    i = _where(~(ax < 6))
    if i.size:
        xb = x.take(i)
        out[i] = np.where(np.isnan(xb), np.nan, np.copysign(1.0, xb))
    return out


def _erfc_np(x, single=False):
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    tab = _erf_tables(single)
    ax = np.abs(x)
    out = np.empty_like(x)
    small = ax < 0.5
    i = _where(small)
    out[i] = 1 - _erf_small(x.take(i), tab)
    i = _where(~small)
    if i.size:
        xb = x.take(i)
        e = _erfc_pos(np.abs(xb), tab)
        out[i] = np.where(xb < 0, 2 - e, e)
    return out


def _erfinv_np(y, single=False):
    """Inverse of erf: a closed-form first guess (Winitzki's, relative error ~1e-3 and
    worse near |y| = 1), then two Halley steps (cubic convergence), in the tails on
    erfc(x) = 1 - |y|, where 1 - |y| is exact."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    ay = np.abs(y)
    out = np.where(ay == 1, np.inf, np.nan)        # also |y| > 1 and nan
    ok = ay < 1
    ya = ay[ok]
    a = 0.147
    ln = np.log1p(-ya * ya)
    b = 2 / (np.pi * a) + ln / 2
    x = np.sqrt(np.sqrt(b * b - ln / a) - b)
    tail = ya > 0.5
    center = ~tail
    c = 1 - ya[tail]
    yc = ya[center]
    sign = np.where(tail, -1.0, 1.0)
    f = np.empty_like(x)
    it, ic = _where(tail), _where(center)
    for _ in range(2):
        f[it] = _erfc_np(x.take(it), single) - c
        f[ic] = _erf_np(x.take(ic), single) - yc
        fp = sign * np.exp(-x * x) * (2 / _SQRT_PI)
        x = x - f / (fp + x * f)                   # Halley: erf'' = -2x erf'
    out[ok] = x
    return np.copysign(out, y)


def _bessel_i(x, nu, single=False):
    """Modified Bessel function I_nu(x), nu in {0, 1}: power series for |x| <= 20 (positive
    terms, no cancellation; summed until the terms stop mattering), the asymptotic expansion
    beyond (error below 1e-17 there)."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    out = np.empty_like(ax)
    small = ax <= 20
    tol = 1e-10 if single else 1e-17
    if small.any():
        h = ax[small] / 2
        q = h * h
        term = h if nu else np.ones_like(h)
        s = term.copy()
        for k in range(1, 60):
            term = term * q / (k * (k + nu))
            s += term
            if k % 4 == 0 and not (term > tol * s).any():
                break
        out[small] = s
    big = ~small
    if big.any():
        xb = ax[big]
        mu = 4.0 * nu * nu
        term = np.ones_like(xb)
        s = term.copy()
        for k in range(1, 30):
            term = term * (-(mu - (2 * k - 1) ** 2) / (8.0 * k)) / xb
            s += term
        e = np.exp(xb / 2)                         # e^x as a square: finite up to I's overflow
        out[big] = (e / np.sqrt(2 * np.pi * xb)) * s * e
    return np.copysign(out, x) if nu else out


# =======================================================================================
# pointwise functions of one tensor
def _unary(name, op, doc, *, real_only=False, kernel=None):
    """Define the public function ``name`` computing ``op`` in floating point: integer and
    bool inputs are computed in the default float dtype (PyTorch's rule for exp, sin, ...)."""
    kern = kernel or f"{name}_cpu"

    def fn(input, *, out=None):
        try:
            kind = input._data.dtype.kind
        except AttributeError:
            raise _type_error(name, "input", 1, input) from None
        if kind not in "fc":
            input = _default_float(input)
        elif real_only and kind == "c":
            raise _not_impl(kern, input)
        r = op._apply1(input)    # (looked up per call: ember.onnx swaps it)
        return r if out is None else _out(r, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _fwd(ufunc):
    """A forward that applies a NumPy ufunc with FP warnings off."""
    def forward(self, x):
        try:
            return _run_quiet(ufunc, x)
        except RuntimeError:        # the quiet context is in use by another thread
            return _call1(ufunc, x)
    return forward


_LN2, _LN10 = math.log(2.0), math.log(10.0)


class Exp(Op):
    save_outputs = (0,)
    forward = _fwd(np.exp)

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * _conj(y)


class Exp2(Op):
    save_outputs = (0,)
    forward = _fwd(np.exp2)

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * _conj(y * _LN2)


class Expm1(Op):
    save_outputs = (0,)
    forward = _fwd(np.expm1)

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * _conj(y + 1)


class Log(Op):
    save_inputs = (0,)
    forward = _fwd(np.log)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / _conj(x)


class Log2(Op):
    save_inputs = (0,)
    forward = _fwd(np.log2)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / _conj(x * _LN2)


class Log10(Op):
    save_inputs = (0,)
    forward = _fwd(np.log10)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / _conj(x * _LN10)


class Log1p(Op):
    save_inputs = (0,)
    forward = _fwd(np.log1p)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / _conj(x + 1)


class Sqrt(Op):
    save_outputs = (0,)
    forward = _fwd(np.sqrt)

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad / _conj(y * 2)


class Rsqrt(Op):
    save_outputs = (0,)

    def forward(self, x):
        tok = _quiet()
        try:
            return 1 / np.sqrt(x)
        finally:
            _loud(tok)

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * _conj(y * y * y) * -0.5


class Reciprocal(Op):
    save_outputs = (0,)

    def forward(self, x):
        tok = _quiet()
        try:
            return np.reciprocal(x)
        finally:
            _loud(tok)

    def backward(self, grad):
        (y,) = self.saved_tensors
        return -grad * _conj(y * y)


class Sin(Op):
    save_inputs = (0,)
    forward = _fwd(np.sin)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * _conj(cos(x))


class Cos(Op):
    save_inputs = (0,)
    forward = _fwd(np.cos)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * -_conj(sin(x))


class Tan(Op):
    save_outputs = (0,)
    forward = _fwd(np.tan)

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * _conj(y * y + 1)


class Asin(Op):
    save_inputs = (0,)
    forward = _fwd(np.arcsin)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / _conj(sqrt(1 - x * x))


class Acos(Op):
    save_inputs = (0,)
    forward = _fwd(np.arccos)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return -grad / _conj(sqrt(1 - x * x))


class Atan(Op):
    save_inputs = (0,)
    forward = _fwd(np.arctan)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / _conj(x * x + 1)


class Sinh(Op):
    save_inputs = (0,)
    forward = _fwd(np.sinh)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * _conj(cosh(x))


class Cosh(Op):
    save_inputs = (0,)
    forward = _fwd(np.cosh)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * _conj(sinh(x))


class Tanh(Op):
    save_outputs = (0,)
    forward = _fwd(np.tanh)

    def backward(self, grad):
        (y,) = self.saved_tensors
        gd, yd = grad._data, y._data
        if not STATE.enabled and gd.dtype is yd.dtype and gd.shape == yd.shape and \
                yd.dtype.kind != "c":
            return TanhBackward._apply2(grad, y)     # no graph to record: one op, not three
        return grad * _conj(1 - y * y)


_ONES = {}                      # dtype -> 0-d array of 1 (cheaper for NumPy than the int 1)


def _tanh_grad(g, y):
    """``g * (1 - y * y)`` on arrays (the same values as with the Python int 1)."""
    one = _ONES.get(y.dtype)
    if one is None:
        one = _ONES[y.dtype] = np.ones((), dtype=y.dtype)
    return np.multiply(g, np.subtract(one, np.multiply(y, y)))


class TanhBackward(Op):
    """``grad * (1 - y * y)``, the gradient of tanh through its output ``y``, in one op with
    the values of the three it stands for. Used only when no graph is being recorded (with
    ``create_graph`` Tanh's backward records those three ops, so higher derivatives are
    unchanged); hence not differentiable itself."""
    differentiable = False

    def forward(self, g, y):
        try:
            return _run_quiet(_tanh_grad, g, y)
        except RuntimeError:            # the quiet context is in use by another thread
            tok = _quiet()
            try:
                return _tanh_grad(g, y)
            finally:
                _loud(tok)


class Asinh(Op):
    save_inputs = (0,)
    forward = _fwd(np.arcsinh)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / _conj(sqrt(x * x + 1))


class Acosh(Op):
    save_inputs = (0,)
    forward = _fwd(np.arccosh)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / _conj(sqrt(x * x - 1))


class Atanh(Op):
    save_inputs = (0,)
    forward = _fwd(np.arctanh)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / _conj(1 - x * x)


class Sigmoid(Op):
    save_outputs = (0,)

    def forward(self, x):
        tok = _quiet()
        try:
            if not x.ndim:
                return 1 / (1 + np.exp(-x))
            t = np.negative(x)
            np.exp(t, out=t)                     # overflow to inf gives exactly 0 below
            t += 1
            return np.reciprocal(t, out=t)
        finally:
            _loud(tok)

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * _conj(y * (1 - y))


class Erf(Op):
    save_inputs = (0,)

    def forward(self, x):
        tok = _quiet()
        try:
            return _erf_np(x, x.dtype.itemsize < 8).reshape(x.shape).astype(x.dtype, copy=False)
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * exp(-x * x) * (2 / _SQRT_PI)


class Erfc(Op):
    save_inputs = (0,)

    def forward(self, x):
        tok = _quiet()
        try:
            return _erfc_np(x, x.dtype.itemsize < 8).reshape(x.shape).astype(x.dtype,
                                                                             copy=False)
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * exp(-x * x) * (-2 / _SQRT_PI)


class Erfinv(Op):
    save_outputs = (0,)

    def forward(self, x):
        tok = _quiet()
        try:
            return _erfinv_np(x, x.dtype.itemsize < 8).reshape(x.shape).astype(x.dtype,
                                                                                 copy=False)
        finally:
            _loud(tok)

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * exp(y * y) * (_SQRT_PI / 2)


class I0(Op):
    save_inputs = (0,)

    def forward(self, x):
        tok = _quiet()
        try:
            return _bessel_i(x, 0, x.dtype.itemsize < 8).astype(x.dtype, copy=False)
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * _I1.apply(x)


class _I1(Op):
    """I_1, the derivative of I_0 (internal: ember exposes no i1)."""
    save_inputs = (0,)
    save_outputs = (0,)
    _name = "SpecialI1Backward0"

    def forward(self, x):
        tok = _quiet()
        try:
            return _bessel_i(x, 1, x.dtype.itemsize < 8).astype(x.dtype, copy=False)
        finally:
            _loud(tok)

    def backward(self, grad):
        # I1'(x) = I0(x) - I1(x) / x, which is 1/2 at x = 0
        x, y = self.saved_tensors
        return grad * where(x == 0, 0.5, i0(x) - y / x)


class Sinc(Op):
    save_inputs = (0,)

    def forward(self, x):
        tok = _quiet()
        try:
            px = np.pi * x
            return np.where(x == 0, 1, np.sin(px) / px).astype(x.dtype, copy=False)
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        px = x * math.pi
        d = (px * cos(px) - sin(px)) / (px * x)
        return where(x == 0, 0, grad * _conj(d))


def _scale_fwd(factor):
    """``x * factor`` rounded once (in float64 for smaller types, as PyTorch's result)."""
    def forward(self, x):
        if x.dtype.itemsize < 8 and x.dtype.kind == "f":
            return (x.astype(np.float64) * factor).astype(x.dtype)
        return x * factor
    return forward


class Deg2Rad(Op):
    forward = _scale_fwd(math.pi / 180)

    def backward(self, grad):
        return grad * (math.pi / 180)


class Rad2Deg(Op):
    forward = _scale_fwd(180 / math.pi)

    def backward(self, grad):
        return grad * (180 / math.pi)


exp = _unary("exp", Exp, "``e ** input``, elementwise.")
exp2 = _unary("exp2", Exp2, "``2 ** input``, elementwise.")
expm1 = _unary("expm1", Expm1, "``exp(input) - 1``, accurate near 0.")
log = _unary("log", Log, "Natural logarithm.")
log2 = _unary("log2", Log2, "Base-2 logarithm.")
log10 = _unary("log10", Log10, "Base-10 logarithm.")
log1p = _unary("log1p", Log1p, "``log(1 + input)``, accurate near 0.")
sqrt = _unary("sqrt", Sqrt, "Square root (its gradient at 0 is inf).")
rsqrt = _unary("rsqrt", Rsqrt, "``1 / sqrt(input)``.")
reciprocal = _unary("reciprocal", Reciprocal,
                    "``1 / input`` (integers give the default float dtype).")
sin = _unary("sin", Sin, "Sine.")
cos = _unary("cos", Cos, "Cosine.")
tan = _unary("tan", Tan, "Tangent.")
asin = _unary("asin", Asin, "Inverse sine (nan outside [-1, 1]).")
acos = _unary("acos", Acos, "Inverse cosine (nan outside [-1, 1]).")
atan = _unary("atan", Atan, "Inverse tangent.")
sinh = _unary("sinh", Sinh, "Hyperbolic sine.")
cosh = _unary("cosh", Cosh, "Hyperbolic cosine.")
tanh = _unary("tanh", Tanh, "Hyperbolic tangent.")
asinh = _unary("asinh", Asinh, "Inverse hyperbolic sine.")
acosh = _unary("acosh", Acosh, "Inverse hyperbolic cosine (nan below 1).")
atanh = _unary("atanh", Atanh, "Inverse hyperbolic tangent (nan outside [-1, 1]).")
sigmoid = _unary("sigmoid", Sigmoid, "The logistic function ``1 / (1 + exp(-input))``.")
erf = _unary("erf", Erf, "The error function (relative error below 2e-15 in float64).",
             real_only=True, kernel="erf_vml_cpu")
erfc = _unary("erfc", Erfc, "``1 - erf(input)``, accurate where erf is near 1.", real_only=True,
              kernel="erfc_vml_cpu")
erfinv = _unary("erfinv", Erfinv, "The inverse error function (±inf at ±1, nan outside [-1, 1]).",
                real_only=True, kernel="erfinv_vml_cpu")
i0 = _unary("i0", I0, "The modified Bessel function of the first kind of order 0.",
            real_only=True, kernel="i0_cpu")
sinc = _unary("sinc", Sinc, "The normalized sinc ``sin(pi x) / (pi x)``, 1 at 0.", real_only=True)
deg2rad = _unary("deg2rad", Deg2Rad, "Degrees to radians.", real_only=True)
rad2deg = _unary("rad2deg", Rad2Deg, "Radians to degrees.", real_only=True)

_export(exp, exp2, expm1, log, log2, log10, log1p, sqrt, rsqrt, reciprocal, sin, cos, tan,
        asin, acos, atan, sinh, cosh, tanh, asinh, acosh, atanh, sigmoid, erf, erfc, erfinv, i0,
        sinc, deg2rad, rad2deg, inplace=True)
_alias(asin, "arcsin")
_alias(acos, "arccos")
_alias(atan, "arctan")
_alias(asinh, "arcsinh")
_alias(acosh, "arccosh")
_alias(atanh, "arctanh")


class Logit(Op):
    save_inputs = (0,)

    def forward(self, x, eps):
        self.eps = eps
        tok = _quiet()
        try:
            if eps is not None:
                x = np.clip(x, eps, 1 - eps)
            return np.log(x / (1 - x))
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        eps = self.eps
        g = grad / (x * (1 - x))
        if eps is None:
            return where((x < 0) | (x > 1), float("nan"), g)
        return where((x < eps) | (x > 1 - eps), 0, g)


def logit(input, eps=None, *, out=None) -> Tensor:
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to [eps, 1 - eps] (and the
    gradient is zero outside)."""
    kind = input._data.dtype.kind
    if kind not in "fc":
        input = _default_float(input)
    elif kind == "c":
        raise _not_impl("logit_cpu", input)
    r = Logit.apply(input, eps=eps)
    return r if out is None else _out(r, out)


_export(logit, inplace=True)


# ------------------------------------------------------------------ rounding and sign
class _ZeroGrad(Op):
    """Piecewise-constant functions: their gradient is zero everywhere."""

    def backward(self, grad):
        return _zeros(grad)


class Floor(_ZeroGrad):
    forward = _fwd(np.floor)


class Ceil(_ZeroGrad):
    forward = _fwd(np.ceil)


class Trunc(_ZeroGrad):
    forward = _fwd(np.trunc)


class Sign(_ZeroGrad):
    forward = _fwd(np.sign)


class Round(_ZeroGrad):
    def forward(self, x, decimals):
        if decimals == 0:
            return np.rint(x)
        # PyTorch scales by 10**|decimals| in the input's dtype, rounds half to even, and
        # scales back (dividing for negative decimals, so that e.g. 1250 -> 1200 exactly)
        p = x.dtype.type(10.0 ** _babs(decimals))
        tok = _quiet()
        try:
            return np.rint(x * p) / p if decimals > 0 else np.rint(x / p) * p
        finally:
            _loud(tok)


class Frac(Op):
    def forward(self, x):
        return _call1(lambda v: v - np.trunc(v), x)

    def backward(self, grad):
        return grad


def _rounding(name, op, doc):

    def fn(input, *, out=None):
        kind = input._data.dtype.kind
        if kind in "iu":
            r = _copy(input)                       # integers are already whole
        elif kind == "b":
            raise _not_impl(f"{name}_vml_cpu" if name != "trunc" else "trunc_cpu", input)
        elif kind == "c":
            raise NotImplementedError(f"{name} is not supported for complex inputs")
        else:
            r = op._apply1(input)    # (looked up per call: ember.onnx swaps it)
        return r if out is None else _out(r, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


floor = _rounding("floor", Floor, "Round down to the nearest integer (integer inputs are copied).")
ceil = _rounding("ceil", Ceil, "Round up to the nearest integer (integer inputs are copied).")
trunc = _rounding("trunc", Trunc, "Round toward zero (integer inputs are copied).")


def round(input, *, decimals=0, out=None) -> Tensor:
    """Round half to even, to ``decimals`` decimal places (negative: to tens, hundreds...)."""
    kind = input._data.dtype.kind
    if kind in "iu" and decimals == 0:
        r = _copy(input)
    elif kind in "biu":
        raise _not_impl("round_cpu", input)
    elif kind == "c":
        raise NotImplementedError("round is not supported for complex inputs")
    else:
        r = Round.apply(input, decimals=decimals)
    return r if out is None else _out(r, out)


def frac(input, *, out=None) -> Tensor:
    """The fractional part ``input - trunc(input)`` (sign of input)."""
    if input._data.dtype.kind not in "f":
        raise _not_impl("frac_cpu", input)
    r = Frac.apply(input)
    return r if out is None else _out(r, out)


def sign(input, *, out=None) -> Tensor:
    """-1, 0 or 1 by the sign of each element (nan stays nan); keeps the dtype."""
    kind = input._data.dtype.kind
    if kind == "b":
        r = _copy(input)
    elif kind == "c":
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex "
                                  "numbers. Please use torch.sgn instead.")
    else:
        r = Sign.apply(input)
    return r if out is None else _out(r, out)


class Sgn(Op):
    """``z / |z|`` for complex z (0 at 0)."""
    save_inputs = (0,)
    save_outputs = (0,)

    def forward(self, z):
        tok = _quiet()
        try:
            a = np.abs(z)
            return np.where(a == 0, 0, z / np.where(a == 0, 1, a)).astype(z.dtype)
        finally:
            _loud(tok)

    def backward(self, grad):
        z, s = self.saved_tensors
        a = abs(z)
        # vjp of z / |z| in PyTorch's convention: (g - conj(g) * sgn^2) / (2 |z|)
        r = (grad - conj(grad) * s * s) / (where(a == 0, 1, a) * 2)
        return where(a == 0, 0, r)


def sgn(input, *, out=None) -> Tensor:
    """``sign`` extended to complex numbers: ``z / |z|`` (0 at 0)."""
    if input._data.dtype.kind != "c":
        return sign(input, out=out)
    r = Sgn.apply(input)
    return r if out is None else _out(r, out)


_export(floor, ceil, trunc, round, frac, sign, sgn, inplace=True)
_alias(trunc, "fix")


# ------------------------------------------------------------------ clamp
class Clamp(Op):
    """Clamp to Python-number bounds (either may be None)."""
    save_inputs = (0,)
    _name = "ClampBackward1"

    def forward(self, x, lo, hi):
        self.lo, self.hi = lo, hi
        if x.dtype.kind in "iu":                   # bounds outside the type wrap around
            lo, hi = _fit_int(lo, x.dtype), _fit_int(hi, x.dtype)
        tok = _quiet()
        try:
            if lo is not None:
                x = np.maximum(x, lo)
            if hi is not None:
                x = np.minimum(x, hi)
            return x
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        xa = x._data
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            m = (xa >= lo) & (xa <= hi)
        elif lo is not None:
            m = xa >= lo
        else:
            m = xa <= hi
        # the boundary itself passes the gradient, as in PyTorch
        return where(_mask(m), grad, 0)


class ClampMin(Clamp):
    _name = "ClampMinBackward0"


class ClampMax(Clamp):
    _name = "ClampMaxBackward0"


class ClampTensor(Op):
    """Clamp to tensor bounds ``lo``/``hi`` (either may be None)."""
    save_inputs = (0, 1, 2)
    _name = "ClampBackward0"

    def forward(self, x, lo, hi):
        self.has = (lo is not None, hi is not None)
        tok = _quiet()
        try:
            if lo is not None:
                x = np.maximum(x, lo)
            if hi is not None:
                x = np.minimum(x, hi)
            return x
        except ValueError:
            raise _bcast_error(x, lo if lo is not None else hi) from None
        finally:
            _loud(tok)

    def backward(self, grad):
        x, lo, hi = self.saved_tensors
        xa, la, ha = x._data, lo._data, hi._data
        has_lo, has_hi = self.has
        tok = _quiet()
        try:
            # the input passes the gradient on [lo, hi]; the active bound takes it outside.
            # Where lo > hi the result is hi, which then takes it; where lo == hi and x is
            # outside, PyTorch gives it to neither.
            if has_lo and has_hi:
                mx = (xa >= la) & (xa <= ha)
                mlo = (xa < la) & (la < ha)
                mhi = (xa > ha) | (la > ha)
            elif has_lo:
                mx, mlo, mhi = xa >= la, xa < la, None
            else:
                mx, mlo, mhi = xa <= ha, None, xa > ha
        finally:
            _loud(tok)
        n = self.needs_input_grad
        return (where(_mask(mx), grad, 0) if n[0] else None,
                where(_mask(mlo), grad, 0) if n[1] else None,
                where(_mask(mhi), grad, 0) if n[2] else None)


def _keeps_dtype(v, kind):
    """Whether a Python-number bound leaves a tensor of dtype kind ``kind`` unchanged."""
    tv = type(v)
    return v is None or tv is float and kind == "f" or tv is int and kind in "iuf"


def clamp(input, min=None, max=None, *, out=None) -> Tensor:
    """Limit each element to ``[min, max]`` (either bound may be None, not both; bounds are
    numbers or tensors). Where ``min > max`` the result is ``max``. The gradient passes
    where ``min <= input <= max``."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    kind = input._data.dtype.kind
    if kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        x = input
        if not (_keeps_dtype(min, kind) and _keeps_dtype(max, kind)):
            bounds = [b for b in (min, max) if b is not None]
            x = _cast(input, result_type(input, *bounds))
        op = Clamp if min is not None and max is not None else ClampMin if max is None \
            else ClampMax
        r = op.apply(x, lo=min, hi=max)
    else:
        ops = [v for v in (input, min, max) if v is not None]
        rt = result_type(*ops)
        x = _cast(input, rt)
        lo = (_cast(min, rt) if isinstance(min, Tensor) else _wrap(np.asarray(min, rt.np))) \
            if min is not None else None
        hi = (_cast(max, rt) if isinstance(max, Tensor) else _wrap(np.asarray(max, rt.np))) \
            if max is not None else None
        r = ClampTensor.apply(x, lo, hi)
    return r if out is None else _out(r, out)


def clamp_min(input, min, *, out=None) -> Tensor:
    """``clamp(input, min=min)``."""
    return clamp(input, min, None, out=out)


def clamp_max(input, max, *, out=None) -> Tensor:
    """``clamp(input, max=max)``."""
    return clamp(input, None, max, out=out)


_export(clamp, clamp_min, clamp_max, inplace=True)


def _d_clamp(a, min=None, max=None):
    if min is None and max is None or type(min) is float and math.isnan(min) or \
            type(max) is float and math.isnan(max):
        return False
    if min is not None:
        np.maximum(a, min, out=a)
    if max is not None:
        np.minimum(a, max, out=a)
    return True


_direct_inplace("clamp_", _d_clamp)
_alias(clamp, "clip")


# ------------------------------------------------------------------ where
class Where(Op):
    save_inputs = (0,)

    def forward(self, c, x, y, dtype):
        try:
            r = np.where(c, x, y)
        except ValueError:
            raise _bcast_error(c, x if np.ndim(x) > np.ndim(y) else y) from None
        return r if r.dtype == dtype else r.astype(dtype)

    def backward(self, grad):
        (c,) = self.saved_tensors
        n = self.needs_input_grad
        z = grad._data.dtype
        return (None, Where.apply(c, grad, 0, dtype=z) if n[1] else None,
                Where.apply(c, 0, grad, dtype=z) if n[2] else None)


def where(condition, input=None, other=None, *, out=None) -> Tensor:
    """``input`` where ``condition`` is True, else ``other`` (either may be a Python number;
    the result has their promoted dtype). ``where(condition)`` alone is
    ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        from . import indexing
        return indexing.nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise _type_error("where", "condition", 1, condition)
    ck = condition._data.dtype
    if ck.kind != "b":
        if ck != np.uint8:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                               f"tensor with dtype {_tname(condition)}")
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and "
                      "will be removed in a future version of PyTorch. Use a boolean condition "
                      "instead.", UserWarning, stacklevel=2)
        condition = Cast.apply(condition, dtype=np.dtype(bool))
    if isinstance(input, Tensor) or isinstance(other, Tensor):
        x, y = promote(input, other)
        dt = (x if isinstance(x, Tensor) else y)._data.dtype
    else:
        x, y = input, other
        dt = result_type(x, y).np
    r = Where.apply(condition, x, y, dtype=dt)
    return r if out is None else _out(r, out)


def _tensor_where(self, condition, y):
    """``self.where(condition, y)`` is ``where(condition, self, y)``."""
    return where(condition, self, y)


_export(where, method=False)
Tensor.where = _tensor_where


# ------------------------------------------------------------------ nan_to_num
class NanToNum(Op):
    save_inputs = (0,)

    def forward(self, x, nan, posinf, neginf):
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return where(_mask(np.isfinite(x._data)), grad, 0)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None) -> Tensor:
    """Replace nan by ``nan`` and ±inf by ``posinf``/``neginf`` (default: the dtype's
    largest/lowest finite value); integer and bool tensors are copied."""
    if input._data.dtype.kind in "biu":
        r = _copy(input)
    else:
        r = NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)
    return r if out is None else _out(r, out)


_export(nan_to_num, inplace=True)


# ------------------------------------------------------------------ predicates (no grad)
# The kernels of the predicates (``fn`` of their Predicate op): real dtypes first, then the
# constant answer integer and bool tensors get.
def _isnan_np(x):
    return np.isnan(x) if x.dtype.kind in "fc" else np.zeros(x.shape, bool)


def _isinf_np(x):
    return np.isinf(x) if x.dtype.kind in "fc" else np.zeros(x.shape, bool)


def _isposinf_np(x):
    return x == np.inf if x.dtype.kind == "f" else np.zeros(x.shape, bool)


def _isneginf_np(x):
    return x == -np.inf if x.dtype.kind == "f" else np.zeros(x.shape, bool)


def _isfinite_np(x):
    return np.isfinite(x) if x.dtype.kind in "fc" else np.ones(x.shape, bool)


def _isreal_np(x):
    return x.imag == 0 if x.dtype.kind == "c" else np.ones(x.shape, bool)


def _signbit_np(x):
    kind = x.dtype.kind
    return np.signbit(x) if kind == "f" else x < 0 if kind == "i" else np.zeros(x.shape, bool)


_Isnan = _predicate_op("isnan", _isnan_np, 1)
_Isinf = _predicate_op("isinf", _isinf_np, 1)
_Isposinf = _predicate_op("isposinf", _isposinf_np, 1)
_Isneginf = _predicate_op("isneginf", _isneginf_np, 1)
_Isfinite = _predicate_op("isfinite", _isfinite_np, 1)
_Isreal = _predicate_op("isreal", _isreal_np, 1)
_Signbit = _predicate_op("signbit", _signbit_np, 1)


def _predicate_function(name, op, doc, complex_error=None, with_out=False):
    """The public function ``name`` applying the one-input Predicate ``op``; complex inputs
    raise ``complex_error`` when given; ``with_out``: it takes PyTorch's ``out=``."""
    def check(input):
        if complex_error is not None and input._data.dtype.kind == "c":
            raise RuntimeError(complex_error)

    if with_out:
        def fn(input, *, out=None):
            check(input)
            r = op._apply1(input)
            return r if out is None else _out(r, out)
    else:
        def fn(input):
            check(input)
            return op._apply1(input)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


isnan = _predicate_function("isnan", _Isnan, "True where the element is nan.")
isinf = _predicate_function("isinf", _Isinf, "True where the element is +inf or -inf.")
isposinf = _predicate_function("isposinf", _Isposinf, "True where the element is +inf.",
                               "isposinf does not support complex inputs.", with_out=True)
isneginf = _predicate_function("isneginf", _Isneginf, "True where the element is -inf.",
                               "isneginf does not support complex inputs.", with_out=True)
isfinite = _predicate_function("isfinite", _Isfinite,
                               "True where the element is neither inf nor nan.")
isreal = _predicate_function("isreal", _Isreal, "True where the element has no imaginary "
                             "part (always, for real dtypes).")
signbit = _predicate_function("signbit", _Signbit, "True where the sign bit is set (also for "
                              "-0.0).", "signbit is not implemented for complex tensors.",
                              with_out=True)


_export(isnan, isinf, isposinf, isneginf, isfinite, isreal, signbit)


# =======================================================================================
# functions of two tensors
class Maximum(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return _call2(np.maximum, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        return _minmax_grads(self, grad, a._data, b._data, 1)


class Minimum(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return _call2(np.minimum, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        return _minmax_grads(self, grad, a._data, b._data, -1)


def _minmax_grads(op, grad, a, b, sense):
    """Gradients of maximum (sense 1) / minimum (-1): the larger (smaller) side takes the
    gradient, ties split it in half, nan passes it to both."""
    n = op.needs_input_grad
    tie = _mask(a == b)
    half = grad * 0.5
    ga = gb = None
    if n[0]:
        lose = (a < b) if sense > 0 else (a > b)
        ga = where(_mask(lose), 0, where(tie, half, grad))
    if n[1]:
        lose = (b < a) if sense > 0 else (b > a)
        gb = where(_mask(lose), 0, where(tie, half, grad))
    return ga, gb


class Fmax(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return _call2(np.fmax, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        first = _mask((a._data >= b._data) | np.isnan(b._data))
        return _select_grads(self, grad, first)


class Fmin(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return _call2(np.fmin, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        first = _mask((a._data <= b._data) | np.isnan(b._data))
        return _select_grads(self, grad, first)


def _select_grads(op, grad, first):
    n = op.needs_input_grad
    return (where(first, grad, 0) if n[0] else None, where(first, 0, grad) if n[1] else None)


def _minmax(name, op, doc, complex_msg):

    def fn(input, other, *, out=None):
        _need_tensor(input, name, "input", 1)
        _need_tensor(other, name, "other", 2)
        a, b = promote(input, other)
        if a._data.dtype.kind == "c":
            raise RuntimeError(complex_msg)
        r = op._apply2(a, b)
        return r if out is None else _out(r, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


maximum = _minmax("maximum", Maximum,
                  "Elementwise maximum, propagating nan. Ties split the gradient.",
                  "maximum not implemented for complex tensors.")
minimum = _minmax("minimum", Minimum,
                  "Elementwise minimum, propagating nan. Ties split the gradient.",
                  "minimum not implemented for complex tensors.")
fmax = _minmax("fmax", Fmax, "Elementwise maximum ignoring nan (nan only where both are nan).",
               "fmax not implemented for complex tensors.")
fmin = _minmax("fmin", Fmin, "Elementwise minimum ignoring nan (nan only where both are nan).",
               "fmin not implemented for complex tensors.")
_export(maximum, minimum, fmax, fmin)


class Atan2(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return _call2(np.arctan2, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        r = a * a + b * b
        r = where(r == 0, 1, r)              # 0 (not nan) at the origin, as PyTorch
        n = self.needs_input_grad
        return (grad * b / r if n[0] else None, grad * -a / r if n[1] else None)


class Hypot(Op):
    save_inputs = (0, 1)
    save_outputs = (0,)

    def forward(self, a, b):
        return _call2(np.hypot, a, b)

    def backward(self, grad):
        a, b, y = self.saved_tensors
        n = self.needs_input_grad
        return (grad * a / y if n[0] else None, grad * b / y if n[1] else None)


class Logaddexp(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return _call2(np.logaddexp, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        n = self.needs_input_grad
        return (grad / (exp(b - a) + 1) if n[0] else None,
                grad / (exp(a - b) + 1) if n[1] else None)


class Logaddexp2(Op):
    save_inputs = (0, 1)

    def forward(self, a, b):
        return _call2(np.logaddexp2, a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        n = self.needs_input_grad
        return (grad / (exp2(b - a) + 1) if n[0] else None,
                grad / (exp2(a - b) + 1) if n[1] else None)


def _binary_float(name, op, doc, *, int_ok=True):
    """Two-tensor functions computed in floating point (atan2, hypot, logaddexp)."""

    def fn(input, other, *, out=None):
        _need_tensor(input, name, "input", 1)
        _need_tensor(other, name, "other", 2)
        a, b = promote(input, other)
        kind = a._data.dtype.kind
        if kind == "c" or not int_ok and kind in "biu":
            raise _not_impl(f"{name}_cpu", a)
        if kind in "biu":
            a, b = _default_float(a), _default_float(b)
        r = op._apply2(a, b)
        return r if out is None else _out(r, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


atan2 = _binary_float("atan2", Atan2, "The angle of the point ``(other, input)``: "
                      "``atan(input / other)`` in the right quadrant.")
hypot = _binary_float("hypot", Hypot, "``sqrt(input**2 + other**2)`` without overflow.",
                      int_ok=False)
logaddexp = _binary_float("logaddexp", Logaddexp, "``log(exp(input) + exp(other))``, stably.",
                          int_ok=False)
logaddexp2 = _binary_float("logaddexp2", Logaddexp2, "``log2(2**input + 2**other)``, stably.",
                           int_ok=False)
_export(atan2, hypot, inplace=True)
_export(logaddexp, logaddexp2)
_alias(atan2, "arctan2")


class Xlogy(Op):
    save_inputs = (0, 1)

    def forward(self, x, y):
        dt = x.dtype if isinstance(x, _ndarray) else y.dtype
        x, y = np.asarray(x, dt), np.asarray(y, dt)       # a NumPy scalar would promote
        tok = _quiet()
        try:
            r = np.multiply(x, np.log(y))
            # 0 * log(y) is 0 even where log(y) is -inf or inf, but nan where y is nan
            return np.where((np.asarray(x) == 0) & ~np.isnan(y), 0, r).astype(r.dtype)
        except ValueError:
            raise _bcast_error(x, y) from None
        finally:
            _loud(tok)

    def backward(self, grad):
        x, y = self.saved_tensors
        n = self.needs_input_grad
        gx = grad * xlogy(_mask(x._data != 0), y) if n[0] else None
        gy = grad * x / y if n[1] else None
        return gx, gy


def xlogy(input, other, *, out=None) -> Tensor:
    """``input * log(other)``, defined as 0 where ``input`` is 0 (unless other is nan).
    Either argument may be a Python number."""
    a, b = _float_operands(input, other)
    r = Xlogy.apply(a, b)
    return r if out is None else _out(r, out)


class Copysign(Op):
    save_inputs = (0,)
    save_outputs = (0,)

    def forward(self, a, b):
        return _call2(np.copysign, a, b)

    def backward(self, grad):
        a, y = self.saved_tensors
        ga = None
        if self.needs_input_grad[0]:
            ratio = y / where(a == 0, 1, a)      # ±1; 0 where input is 0, as PyTorch
            ga = grad * where(a == 0, 0, ratio)
        gb = _zeros(grad) if self.needs_input_grad[1] else None
        return ga, gb


def copysign(input, other, *, out=None) -> Tensor:
    """``|input|`` with the sign of ``other`` (which may be a Python number)."""
    a, b = _float_operands(input, other)
    if _kind2(a, b) == "c":
        raise _not_impl("copysign_cpu", a if isinstance(a, Tensor) else b)
    r = Copysign.apply(a, b)
    return r if out is None else _out(r, out)


_export(xlogy, copysign, inplace=True)


class Heaviside(Op):
    def forward(self, x, v):
        tok = _quiet()
        try:
            return np.where(x == 0, v, x > 0).astype(x.dtype)
        except ValueError:
            raise _bcast_error(x, v) from None
        finally:
            _loud(tok)

    def backward(self, grad):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


def heaviside(input, values, *, out=None) -> Tensor:
    """0 where ``input < 0``, ``values`` where it is 0, 1 where it is > 0."""
    _need_tensor(input, "heaviside", "input", 1)
    _need_tensor(values, "heaviside", "values", 2)
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    if input._data.dtype.kind == "c":
        raise _not_impl("heaviside_cpu", input)
    r = Heaviside.apply(input, values)
    return r if out is None else _out(r, out)


_export(heaviside, inplace=True)


# =======================================================================================
# complex numbers
class Real(Op):
    is_view = True

    def forward(self, z):
        return z.real

    def backward(self, grad):
        return grad                          # the engine makes it complex (imaginary part 0)


class Imag(Op):
    is_view = True

    def forward(self, z):
        return z.imag

    def backward(self, grad):
        return grad * 1j


class Conj(Op):
    def forward(self, z):
        return np.conj(z)

    def backward(self, grad):
        return conj(grad)


class Angle(Op):
    save_inputs = (0,)

    def forward(self, x):
        if x.dtype.kind == "c":
            return np.angle(x)
        # pi for negative numbers, 0 otherwise (also for -0.0), nan stays nan
        return np.where(np.isnan(x), x, np.where(x < 0, np.pi, 0)).astype(x.dtype)

    def backward(self, grad):
        (z,) = self.saved_tensors
        if z._data.dtype.kind != "c":
            return _zeros(grad)
        # d angle = Im(dz / z): the gradient is grad * i z / |z|^2 (0 at 0)
        a2 = real(z * conj(z))
        return where(_mask(a2._data == 0), 0, grad * z * 1j / where(a2 == 0, 1, a2))


def real(input) -> Tensor:
    """The real part (a view for complex tensors; the tensor itself otherwise)."""
    if input._data.dtype.kind != "c":
        return input
    return Real.apply(input)


def imag(input) -> Tensor:
    """The imaginary part of a complex tensor (a view)."""
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag.apply(input)


def conj(input) -> Tensor:
    """The complex conjugate (the tensor itself for real dtypes). ember's is a copy, not
    PyTorch's lazily conjugated view."""
    if input._data.dtype.kind != "c":
        return input
    return Conj.apply(input)


def conj_physical(input, *, out=None) -> Tensor:
    """The complex conjugate, always materialized."""
    if input._data.dtype.kind != "c":
        r = input if out is None else _out(input.detach(), out)
        return r
    r = Conj.apply(input)
    return r if out is None else _out(r, out)


def resolve_conj(input) -> Tensor:
    """ember never conjugates lazily: returns ``input``."""
    return input


def resolve_neg(input) -> Tensor:
    """ember never negates lazily: returns ``input``."""
    return input


def is_conj(input) -> bool:
    """Always False: ember's ``conj`` materializes."""
    return False


def angle(input, *, out=None) -> Tensor:
    """The argument of complex numbers; for real ones pi where negative, else 0."""
    if input._data.dtype.kind in "biu":
        input = _default_float(input)
    r = Angle.apply(input)
    return r if out is None else _out(r, out)


_export(real, imag, method=False)         # Tensor.real / .imag are properties (_tensor.py)
_export(conj, resolve_conj, resolve_neg, is_conj, angle)
_export(conj_physical, inplace=True)


# =======================================================================================
# comparisons and logic (bool results, no gradient)
def _comparison(name, ufunc, doc, ordered):
    op = _predicate_op(name, ufunc, 2)

    def fn(input, other, *, out=None):
        a, b = promote(input, other)
        if ordered and _kind2(a, b) == "c":
            raise _not_impl(f"{name}_cpu", a if isinstance(a, Tensor) else b)
        if type(b) is int:
            if a._data.dtype.kind in "iu" and not _in_range(b, a._data.dtype):
                b = _fit_int(b, a._data.dtype)  # PyTorch converts the scalar to the tensor's type
        elif type(a) is int and b._data.dtype.kind in "iu" and not _in_range(a, b._data.dtype):
            a = _fit_int(a, b._data.dtype)
        r = _apply_pred2(op, a, b)
        return r if out is None else _out(r, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


eq = _comparison("eq", np.equal, "``input == other`` elementwise (bool tensor).", False)
ne = _comparison("ne", np.not_equal, "``input != other`` elementwise (bool tensor).", False)
lt = _comparison("lt", np.less, "``input < other`` elementwise (bool tensor).", True)
le = _comparison("le", np.less_equal, "``input <= other`` elementwise (bool tensor).", True)
gt = _comparison("gt", np.greater, "``input > other`` elementwise (bool tensor).", True)
ge = _comparison("ge", np.greater_equal, "``input >= other`` elementwise (bool tensor).", True)
_export(eq, ne, lt, le, gt, ge, inplace=True)
_alias(gt, "greater")
_alias(ge, "greater_equal")
_alias(lt, "less")
_alias(le, "less_equal")
_alias(ne, "not_equal")


def equal(input, other) -> bool:
    """True if both tensors have the same shape and equal elements (nan is never equal)."""
    _need_tensor(input, "equal", "input", 1)
    _need_tensor(other, "equal", "other", 2)
    _trace_check("ember.equal(), which returns a Python bool", input)
    _trace_check("ember.equal(), which returns a Python bool", other)
    if input._data.shape != other._data.shape:
        return False
    a, b = promote(input, other)
    return bool(np.array_equal(a._data, b._data))


def _isclose_np(a, b, rtol, atol, equal_nan):
    """The kernel of ``isclose`` (the operands have one dtype)."""
    tok = _quiet()
    try:
        close = a == b
        if a.dtype.kind == "b":
            return close
        if equal_nan and a.dtype.kind in "fc":
            close = close | (np.isnan(a) & np.isnan(b))
        if a.dtype.kind not in "fc":
            # integers are compared in the default float dtype, as PyTorch does
            a = a.astype(_dtype._default[0].np)
            b = b.astype(a.dtype)
        diff = np.abs(a - b)
        tol = atol + rtol * np.abs(b)
        return close | (np.isfinite(diff) & (diff <= tol))
    finally:
        _loud(tok)


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (infinities must match
    exactly; nan matches nan only with ``equal_nan``). Both must have the same dtype."""
    _need_tensor(input, "isclose", "input", 1)
    _need_tensor(other, "isclose", "other", 2)
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"{_tname(input)} did not match {_tname(other)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    return _predicate("isclose", _isclose_np, input, other, rtol=rtol, atol=atol,
                      equal_nan=equal_nan)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True if ``isclose`` holds everywhere."""
    r = isclose(input, other, rtol, atol, equal_nan)
    _trace_check("ember.allclose(), which returns a Python bool", r)
    return bool(r._data.all())


_export(equal, isclose, allclose)


def _logical(name, ufunc, doc):
    op = _predicate_op(name, ufunc, 2)

    def fn(input, other, *, out=None):
        _need_tensor(input, name, "input", 1)
        _need_tensor(other, name, "other", 2)
        r = _apply_pred2(op, input, other)
        return r if out is None else _out(r, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


logical_and = _logical("logical_and", np.logical_and,
                       "Elementwise AND of truth values (bool tensor).")
logical_or = _logical("logical_or", np.logical_or, "Elementwise OR of truth values (bool tensor).")
logical_xor = _logical("logical_xor", np.logical_xor,
                       "Elementwise XOR of truth values (bool tensor).")


_LogicalNot = _predicate_op("logical_not", np.logical_not, 1)


def logical_not(input, *, out=None) -> Tensor:
    """Elementwise NOT of truth values (bool tensor; nonzero is True)."""
    r = _LogicalNot._apply1(input)
    return r if out is None else _out(r, out)


_export(logical_and, logical_or, logical_xor, logical_not, inplace=True)


def _shift(a, b, left):
    """Shifts as PyTorch defines them: amounts outside [0, bits) shift everything out
    (0, or -1 for negative numbers shifted right)."""
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    dt = a_arr.dtype if isinstance(a, _ndarray) else b_arr.dtype
    bits = dt.itemsize * 8
    ok = (b_arr >= 0) & (b_arr < bits)
    s = np.where(ok, b_arr, 0).astype(dt)
    av = a_arr.astype(dt, copy=False)
    if left:
        r = np.left_shift(av, s)
        return np.where(ok, r, 0).astype(dt)
    r = np.right_shift(av, s)
    return np.where(ok, r, np.where(av < 0, -1, 0)).astype(dt)


def _bitwise(name, ufunc, kernel, doc):
    op = _predicate_op(name, ufunc, 2) if ufunc is not None else None

    def fn(input, other, *, out=None):
        a, b = promote(input, other)
        t = a if isinstance(a, Tensor) else b
        kind = t._data.dtype.kind
        if kind not in "biu":
            raise _not_impl(kernel, t)
        if ufunc is None:
            if kind == "b":                        # bool shifts act on the int64 promotion
                raise _not_impl(kernel, t)
            r = _predicate(name, _shift, a, b, left=name == "bitwise_left_shift")
        else:
            r = _apply_pred2(op, a, b)
        return r if out is None else _out(r, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


bitwise_and = _bitwise("bitwise_and", np.bitwise_and, "bitwise_and_cpu",
                       "Bitwise AND of integer or bool tensors (``&``).")
bitwise_or = _bitwise("bitwise_or", np.bitwise_or, "bitwise_or_cpu",
                      "Bitwise OR of integer or bool tensors (``|``).")
bitwise_xor = _bitwise("bitwise_xor", np.bitwise_xor, "bitwise_xor_cpu",
                       "Bitwise XOR of integer or bool tensors (``^``).")
bitwise_left_shift = _bitwise("bitwise_left_shift", None, "lshift_cpu",
                              "``input << other`` for integer tensors (shifting by the bit "
                              "width or more gives 0).")
bitwise_right_shift = _bitwise("bitwise_right_shift", None, "rshift_cpu",
                               "``input >> other`` for integer tensors (an arithmetic shift "
                               "for signed types).")


_BitwiseNot = _predicate_op("bitwise_not", np.invert, 1)


def bitwise_not(input, *, out=None) -> Tensor:
    """Bitwise NOT of an integer tensor (``~``); logical NOT for bool."""
    kind = input._data.dtype.kind
    if kind not in "biu":
        raise _not_impl("bitwise_not_cpu", input)
    r = _BitwiseNot._apply1(input)
    return r if out is None else _out(r, out)


_export(bitwise_and, bitwise_or, bitwise_xor, bitwise_not,
        bitwise_left_shift, bitwise_right_shift, inplace=True)
