"""Creating tensors: from data (``tensor``, ``as_tensor``, ``asarray``, ``from_numpy``) and by
shape (``zeros``, ``ones``, ``full``, ``empty``, ``eye``, ``arange``, ``linspace``, ...), plus
``complex``/``polar``. Random creation (``rand``, ``randn_like``, ...) lives in
``ember/_random.py``.

dtype inference follows PyTorch, not NumPy: Python floats give the default dtype (float32
unless changed), Python ints int64, bools bool, complex numbers the default complex dtype;
NumPy arrays, NumPy scalars and tensors keep their own dtype, and a sequence mixing them
promotes with ``ember.promote_types``.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from .. import _dtype
from .._device import check_device
from .._dtype import as_dtype, get_default_dtype, promote_types
from ..autograd.grad_mode import STATE
from ._op import Op, Tensor
from ._op import _wrap as _plain_wrap
from .inplace import inplace_update


def _wrap(arr) -> Tensor:
    """A new tensor; made inside ``inference_mode`` it is an inference tensor."""
    t = _plain_wrap(arr)
    if STATE.inference:
        t._inference = True
    return t

__all__ = [
    "arange",
    "as_tensor",
    "asarray",
    "complex",
    "empty",
    "empty_like",
    "empty_strided",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "logspace",
    "ones",
    "ones_like",
    "polar",
    "range",
    "scalar_tensor",
    "tensor",
    "zeros",
    "zeros_like",
]

_builtin_range = range
_builtin_complex = complex
_NUMBER = (bool, int, float, _builtin_complex, np.number, np.bool_)


# ---------------------------------------------------------------------------------------
# helpers shared by the constructors

def _legacy(d) -> str:
    """PyTorch's short scalar-type name used in messages: 'Float', 'Long', 'Bool', ..."""
    return d._legacy[:-len("Tensor")]


def _np_of(d) -> np.dtype:
    return _dtype.to_np(d)


def _default_complex():
    return get_default_dtype().to_complex()


def _scalar_category_dtype(x):
    """The dtype PyTorch gives a *number* argument (``full``'s fill value): bool, int64, the
    default float or complex dtype, whatever the number's own precision (NumPy scalars and
    0-d tensors count as numbers here)."""
    if isinstance(x, Tensor):
        k = x._data.dtype.kind
    elif isinstance(x, (bool, np.bool_)):
        k = "b"
    elif isinstance(x, (int, np.integer)):
        k = "i"
    elif isinstance(x, (float, np.floating)):
        k = "f"
    elif isinstance(x, (_builtin_complex, np.complexfloating)):
        k = "c"
    else:
        return None
    return {"b": _dtype.bool, "i": _dtype.int64, "u": _dtype.int64,
            "f": get_default_dtype(), "c": _default_complex()}[k]


def _number(x, fn, arg, pos):
    """A Python number from a number-like argument (NumPy scalar, one-element tensor)."""
    if isinstance(x, Tensor):
        if x._data.size != 1:
            raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Number, not "
                            f"Tensor with {x._data.size} elements")
        return x._data.reshape(()).item()
    if isinstance(x, _NUMBER):
        return x.item() if isinstance(x, (np.generic,)) else x
    raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Number, not "
                    f"{type(x).__name__}")


def _int_arg(x, fn, arg, pos):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer, Tensor)):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be int, not "
                        f"{type(x).__name__}")
    if isinstance(x, Tensor):
        if x._data.size != 1 or x._data.dtype.kind not in "iu":
            raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be int, not Tensor")
        return int(x._data.reshape(()))
    return int(x)


def _size_arg(args, fn="zeros", size_kw=None) -> tuple:
    """Parse a size given as ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])``, ``f(Size)`` or
    ``f(size=(2, 3))`` into a tuple of non-negative ints."""
    if size_kw is not None:
        if args:
            raise TypeError(f"{fn}() got multiple values for argument 'size'")
        args = (size_kw,)
    if not args:
        raise TypeError(f'{fn}() missing 1 required positional arguments: "size"')
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        seq = args[0]
    else:
        if len(args) == 1 and isinstance(args[0], (bool, np.bool_)):
            raise TypeError(f"{fn}(): argument 'size' (position 1) must be tuple of ints, not "
                            "bool")
        seq = args
    out = []
    for i, s in enumerate(seq):
        if isinstance(s, Tensor) and s._data.size == 1 and s._data.dtype.kind in "iub":
            s = int(s._data.reshape(()))
        elif isinstance(s, (int, np.integer)):
            s = int(s)
        else:
            what = f"{type(s).__name__}"
            if len(seq) == 1 and seq is args:
                raise TypeError(f"{fn}(): argument 'size' (position 1) must be tuple of ints, "
                                f"not {what}")
            raise TypeError(f"{fn}(): argument 'size' (position 1) must be tuple of ints, but "
                            f"found element of type {what} at pos {i}")
        out.append(s)
    for s in out:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {out}")
    return tuple(out)


def _target_dtype(dtype, out, default):
    """The ember dtype of a new tensor: ``dtype`` if given, else ``out``'s, else ``default``.
    A ``dtype`` that contradicts ``out`` is an error, as in PyTorch."""
    if out is not None:
        if not isinstance(out, Tensor):
            raise TypeError(f"out must be a Tensor, got {type(out).__name__}")
        if dtype is not None and as_dtype(dtype) is not out.dtype:
            raise RuntimeError(f"dtype {_legacy(as_dtype(dtype))} does not match dtype of out "
                               f"parameter ({_legacy(out.dtype)})")
        return out.dtype
    if dtype is not None:
        return as_dtype(dtype)
    return default


def _finish(arr: np.ndarray, fn: str, out=None, requires_grad=False) -> Tensor:
    """Wrap a freshly made array, honouring ``out=`` (written in place, resized when its
    shape differs) and ``requires_grad=``."""
    if type(arr) is not np.ndarray:                # NumPy returns scalars for 0-d results
        arr = np.asarray(arr)
    if out is None:
        t = _wrap(arr)
        if requires_grad:
            t.requires_grad_(True)
        return t
    if out._requires_grad and STATE.enabled:
        raise RuntimeError(f"{fn}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if out._data.shape == arr.shape:
        inplace_update(out, _wrap(arr), check_cast=False)
    else:
        # PyTorch resizes ``out``: its old memory (and any view of it) is left behind
        out._data = np.ascontiguousarray(arr, dtype=out._data.dtype)
        out._vc[0] += 1
    return out


def _check_input_tensor(input, fn):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


# ---------------------------------------------------------------------------------------
# tensor(): dtype inference and validation of nested sequences

def _is_seq(x) -> bool:
    if isinstance(x, (str, bytes, Tensor, np.ndarray, dict)):
        return False
    return isinstance(x, (list, tuple, _builtin_range, Sequence))


def _np_to_ember(np_dtype):
    try:
        return _dtype.NP_TO_DTYPE[np_dtype]
    except KeyError:
        pass
    if np_dtype.kind in "biufc" and not np_dtype.isnative:
        return _np_to_ember(np_dtype.newbyteorder("="))
    raise TypeError(f"can't convert np.ndarray of type {np.dtype(np_dtype).type.__module__}."
                    f"{np.dtype(np_dtype).type.__name__}. The only supported types are: "
                    "float64, float32, float16, complex64, complex128, int64, int32, int16, "
                    "int8, uint8, and bool.")


_PY_KIND = {bool: "b", int: "i", float: "f", _builtin_complex: "c"}


def _py_dtype(kinds):
    """The dtype of a set of Python scalar kinds ('b', 'i', 'f', 'c')."""
    if "c" in kinds:
        return _default_complex()
    if "f" in kinds:
        return get_default_dtype()
    if "i" in kinds:
        return _dtype.int64
    return _dtype.bool


class _Inference:
    """Walks nested data once: checks it is rectangular (PyTorch's messages), infers the
    dtype, and notes whether tensors occur inside (they must be unwrapped for NumPy)."""

    def __init__(self):
        self.has_tensor = False

    def shape_of(self, data):
        """The shape PyTorch infers: follow the first element of each level."""
        shape = []
        x = data
        while True:
            if isinstance(x, np.ndarray):
                shape.extend(x.shape)
                break
            if isinstance(x, Tensor):
                if x._data.size != 1:
                    shape.extend(x._data.shape)
                break
            if isinstance(x, str) and shape:
                raise ValueError("too many dimensions 'str'")
            if not _is_seq(x):
                break
            n = len(x)
            shape.append(n)
            if n == 0:
                break
            x = x[0]
        return shape

    def scalar(self, x):
        """The dtype of one element."""
        t = type(x)
        if t in _PY_KIND:
            return _py_dtype(_PY_KIND[t])
        if isinstance(x, np.generic):
            if isinstance(x, (np.number, np.bool_)):
                return _np_to_ember(x.dtype)
        elif isinstance(x, Tensor):
            if x._data.size != 1:
                raise TypeError("only one element tensors can be converted to Python scalars "
                                f"(got a tensor of shape {list(x._data.shape)} inside the data)")
            self.has_tensor = True
            return x.dtype
        elif isinstance(x, np.ndarray) and x.ndim == 0:
            return _np_to_ember(x.dtype)
        elif isinstance(x, (bool, int, float, _builtin_complex)):   # subclasses (IntEnum ...)
            return _py_dtype(_PY_KIND[next(k for k in _PY_KIND if isinstance(x, k))])
        if isinstance(x, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
        if _is_seq(x) or isinstance(x, np.ndarray):
            raise TypeError(f"'{type(x).__name__}' object cannot be interpreted as a number: "
                            "expected a number at this depth of the nested data")
        raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")

    def check(self, x, dim, shape):
        """Validate ``x`` at depth ``dim`` against ``shape``; return its dtype."""
        nd = len(shape)
        if dim == nd:
            return self.scalar(x)
        if isinstance(x, np.ndarray):
            want = tuple(shape[dim:])
            if x.shape != want:
                for d, (got, exp) in enumerate(zip(x.shape + (0,) * nd, want)):
                    if got != exp:
                        raise ValueError(f"expected sequence of length {exp} at dim {dim + d} "
                                         f"(got {got})")
                raise ValueError(f"expected sequence of length {want[0]} at dim {dim}")
            return _np_to_ember(x.dtype)
        if isinstance(x, Tensor) and x._data.size != 1:
            raise TypeError("only one element tensors can be converted to Python scalars "
                            f"(got a tensor of shape {list(x._data.shape)} inside the data)")
        if not _is_seq(x):
            raise TypeError("not a sequence")
        n = len(x)
        if n != shape[dim]:
            raise ValueError(f"expected sequence of length {shape[dim]} at dim {dim} (got {n})")
        if dim == nd - 1:
            types = set(map(type, x))
            if types.issubset(_PY_KIND):               # the common case: Python numbers
                return _py_dtype({_PY_KIND[t] for t in types})
        result = None
        for item in x:
            d = self.check(item, dim + 1, shape)
            result = d if result is None else promote_types(result, d)
        return result

    def loose_dtype(self, x):
        """dtype inference without shape checks (data with no elements): an empty sequence
        counts as the default dtype, as in PyTorch."""
        if isinstance(x, np.ndarray):
            return _np_to_ember(x.dtype)
        if _is_seq(x):
            result = None
            for item in x:
                d = self.loose_dtype(item)
                result = d if result is None else promote_types(result, d)
            return result if result is not None else get_default_dtype()
        return self.scalar(x)


def _unwrap_tensors(x):
    if isinstance(x, Tensor):
        return x._data.reshape(())
    if isinstance(x, np.ndarray):
        return x
    if _is_seq(x):
        return [_unwrap_tensors(y) for y in x]
    return x


def _cast(arr: np.ndarray, target: np.dtype) -> np.ndarray:
    """A plain dtype conversion, as a tensor cast does it (no range checks)."""
    if arr.dtype == target:
        return arr
    with np.errstate(all="ignore"):
        if arr.dtype.kind == "c" and target.kind != "c":
            arr = arr.real
        if arr.dtype.kind == "f" and target.kind in "iu":
            arr = arr.astype(np.int64)        # C++ converts floats through a wide integer
        return arr.astype(target)


def _cast_python_data(arr: np.ndarray, target: np.dtype) -> np.ndarray:
    """Convert values that came from Python numbers, with PyTorch's checked conversion:
    an integer type must hold every value (unsigned types also take negative ints down to
    -max, which wrap), floats must be finite and in range."""
    if arr.dtype == target:
        return arr
    if target.kind in "iu" and arr.size:
        info = np.iinfo(target)
        if arr.dtype.kind in "iub":
            lo = -int(info.max) if target.kind == "u" else int(info.min)
            bad = arr.min() < lo or arr.max() > info.max
        else:
            with np.errstate(invalid="ignore"):
                bad = (~np.isfinite(arr) | (arr < float(info.min))
                       | (arr > float(info.max))).any()
        if bad:
            raise RuntimeError(f"value cannot be converted to type {target} without "
                               "overflow")
    return _cast(arr, target)


def _array_from_data(data, dtype=None) -> np.ndarray:
    """A new NumPy array (never sharing memory with ``data``) of PyTorch's inferred dtype, or
    of ``dtype``."""
    target = as_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        arr = data._data
        return np.array(arr if target is None else _cast(arr, _np_of(target)), copy=True)
    if isinstance(data, np.ndarray):
        src = _np_to_ember(data.dtype)                # refuses unsupported dtypes
        arr = data.astype(_np_of(src), copy=True)     # native byte order
        return arr if target is None else _cast(arr, _np_of(target))
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if data is None:
        raise RuntimeError("Could not infer dtype of NoneType")

    inf = _Inference()
    shape = inf.shape_of(data)
    if 0 in shape:
        inferred = inf.loose_dtype(data)
        return np.zeros(shape, dtype=_np_of(target or inferred))
    inferred = inf.check(data, 0, shape)
    if inf.has_tensor:
        data = _unwrap_tensors(data)
    final = target or inferred
    # Build directly in the final dtype when that is floating (no double rounding of Python
    # floats); integer/bool targets are built in the inferred dtype (floats in float64, for
    # exact range checks) and converted with PyTorch's checks.
    if final._category >= 2:
        build = final
    elif inferred.is_floating_point:
        build = _dtype.float64
    else:
        build = inferred
    if inferred.is_complex and not final.is_complex:
        raise TypeError("must be real number, not complex")
    try:
        with np.errstate(all="ignore"):
            arr = np.array(data, dtype=_np_of(build))
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None
    if arr.shape != tuple(shape):                   # defensive: NumPy saw a different layout
        raise ValueError(f"expected a rectangular nested sequence of shape {shape}, "
                         f"got {list(arr.shape)}")
    return _cast_python_data(arr, _np_of(final))


# ---------------------------------------------------------------------------------------
# from data

def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    Args:
        data: a number, a (nested) sequence of numbers, 0-d tensors or arrays, a NumPy array,
            or a tensor (copied, outside the graph; PyTorch warns and so do we).
        dtype: the result dtype; by default inferred as PyTorch does (Python float -> the
            default dtype, int -> int64, bool -> bool, NumPy/tensor data keep theirs).
        requires_grad: make the result a leaf that requires grad.
    """
    check_device(device)
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or "
                      "sourceTensor.detach().clone().requires_grad_(True), rather than "
                      "ember.tensor(sourceTensor).", UserWarning, stacklevel=2)
    t = _wrap(_array_from_data(data, dtype))
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory when it can: a tensor of the right dtype is
    returned as is, a NumPy array of the right dtype is wrapped without copying; anything
    else is converted as by :func:`tensor` (a tensor of another dtype through a
    differentiable cast)."""
    check_device(device)
    target = as_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        return data if target is None or data.dtype is target else data.to(target)
    if isinstance(data, np.ndarray):
        src = _np_to_ember(data.dtype)
        if (target is None or target is src) and data.dtype.isnative:
            return _wrap(data)
        return _wrap(_cast(data.astype(_np_of(src)), _np_of(target or src)))
    return _wrap(_array_from_data(data, target))


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None) -> Tensor:
    """``obj`` as a tensor (the array-API ``asarray``).

    Shares memory with tensors, NumPy arrays and buffer objects when the dtype allows and
    ``copy`` is not True; ``copy=False`` makes a needed copy an error (ValueError). For a
    tensor, ``requires_grad`` defaults to the tensor's own flag and the graph is kept
    (``copy=True`` clones, a dtype change casts differentiably).
    """
    check_device(device)
    target = as_dtype(dtype) if dtype is not None else None
    if isinstance(obj, Tensor):
        t = obj
        if target is not None and target is not t.dtype:
            if copy is False:
                raise ValueError(f"can't alias tensor with dtype '{_legacy(t.dtype)}' into "
                                 f"dtype '{_legacy(target)}'.")
            t = t.to(target)
        elif copy:
            clone = getattr(Tensor, "clone", None)
            t = clone(t) if clone is not None and t.requires_grad else _wrap(t._data.copy())
        if requires_grad is None or bool(requires_grad) == t.requires_grad:
            return t
        if requires_grad:                       # an alias that is a new leaf
            alias = t.detach()
            alias.requires_grad_(True)
            return alias
        return t.detach()
    if isinstance(obj, (np.ndarray, np.generic)) or (
            hasattr(obj, "__array_interface__") or hasattr(obj, "__array__") or
            (not _is_seq(obj) and _supports_buffer(obj))):
        arr = np.asarray(obj)
        src = _np_to_ember(arr.dtype)
        if copy is False and target is not None and target is not src:
            raise ValueError(f"can't alias tensor with dtype '{_legacy(src)}' into dtype "
                             f"'{_legacy(target)}'.")
        if target is not None and target is not src:
            arr = _cast(arr.astype(_np_of(src)), _np_of(target))
        elif copy or not arr.dtype.isnative:
            arr = arr.astype(_np_of(src), copy=True)
        t = _wrap(arr)
    else:
        if copy is False:
            raise ValueError("can't alias arbitrary sequence into a tensor.")
        t = _wrap(_array_from_data(obj, target))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _supports_buffer(obj) -> bool:
    try:
        memoryview(obj)
        return True
    except TypeError:
        return False


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray``: writes through either show in both.
    The dtype is the array's; unsupported dtypes raise TypeError."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _np_to_ember(ndarray.dtype)
    if not ndarray.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte "
                         "order. Conversion between byte orders is currently not supported.")
    if not ndarray.flags.writeable:
        warnings.warn("The given NumPy array is not writable, and ember does not support "
                      "non-writable tensors. The tensor shares the array's memory, so writing "
                      "to it fails; copy the array first (np.array(a)) to get a writable "
                      "tensor.", UserWarning, stacklevel=2)
    return _wrap(ndarray)


# ---------------------------------------------------------------------------------------
# by shape

def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, **kwargs) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros(size=(2, 3))``."""
    check_device(device)
    shape = _size_arg(size, "zeros", kwargs.pop("size", None))
    _no_extra(kwargs, "zeros")
    dt = _target_dtype(dtype, out, get_default_dtype())
    return _finish(np.zeros(shape, dtype=_np_of(dt)), "zeros", out, requires_grad)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False, **kwargs) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    check_device(device)
    shape = _size_arg(size, "ones", kwargs.pop("size", None))
    _no_extra(kwargs, "ones")
    dt = _target_dtype(dtype, out, get_default_dtype())
    return _finish(np.ones(shape, dtype=_np_of(dt)), "ones", out, requires_grad)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None, **kwargs) -> Tensor:
    """An uninitialised tensor (its values are whatever the memory held)."""
    check_device(device)
    shape = _size_arg(size, "empty", kwargs.pop("size", None))
    _no_extra(kwargs, "empty")
    dt = _target_dtype(dtype, out, get_default_dtype())
    return _finish(np.empty(shape, dtype=_np_of(dt)), "empty", out, requires_grad)


def _no_extra(kwargs, fn):
    if kwargs:
        name = next(iter(kwargs))
        raise TypeError(f"{fn}() got an unexpected keyword argument '{name}'")


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False) -> Tensor:
    """An uninitialised tensor with the given element strides."""
    check_device(device)
    shape = _size_arg((size,), "empty_strided")
    stride = tuple(int(s) for s in stride)
    if len(stride) != len(shape):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(stride)} vs "
                           f"{len(shape)}")
    dt = _np_of(as_dtype(dtype) if dtype is not None else get_default_dtype())
    extent = 1 + sum((n - 1) * s for n, s in zip(shape, stride)) if all(shape) else 0
    buf = np.empty(max(extent, 0), dtype=dt)
    arr = np.lib.stride_tricks.as_strided(buf, shape, tuple(s * dt.itemsize for s in stride))
    return _finish(arr, "empty_strided", None, requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``. The dtype follows the value's kind
    (bool -> bool, int -> int64, float -> default dtype, complex -> default complex) unless
    ``dtype`` (or ``out``) says otherwise."""
    check_device(device)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    shape = _size_arg((size,), "full")
    value = _number(fill_value, "full", "fill_value", 2)
    dt = _target_dtype(dtype, out, _scalar_category_dtype(value))
    return _finish(_filled(shape, value, dt), "full", out, requires_grad)


_CPP_NAME = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
             "int64": "int64_t", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
             "float32": "float", "float64": "double", "bool": "bool",
             "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _check_number_fits(value, npd: np.dtype) -> None:
    """PyTorch's checked conversion of one Python number into ``npd`` (``full``'s fill value,
    linspace bounds): integers must fit (unsigned types wrap ints down to -max), floats
    must be finite and in range for integers and not overflow smaller float types, and
    complex numbers need a complex type."""
    if npd.kind == "b":
        return
    bad = False
    if isinstance(value, _builtin_complex):
        bad = npd.kind != "c" and value.imag != 0
        value = value.real
    if npd.kind in "iu":
        info = np.iinfo(npd)
        if isinstance(value, (bool, int)):
            lo = -int(info.max) if npd.kind == "u" else int(info.min)
            bad = bad or not lo <= value <= info.max
        else:
            bad = bad or not (math.isfinite(value) and info.min <= value <= info.max)
    elif npd.kind in "fc" and isinstance(value, float) and math.isfinite(value):
        real = np.dtype(npd.type(0).real.dtype)
        bad = bad or abs(value) > float(np.finfo(real).max)
    if bad:
        raise RuntimeError(f"value cannot be converted to type {_CPP_NAME.get(npd.name)} "
                           "without overflow")


def _filled(shape, value, dt) -> np.ndarray:
    """An array of ``shape`` holding ``value`` converted (checked) to ``dt``."""
    npd = _np_of(dt)
    _check_number_fits(value, npd)
    if npd.kind in "iu":
        value = int(_real(value))              # truncation toward zero, wrapping below 0
        value = value % (1 << (8 * npd.itemsize)) if npd.kind == "u" else value
    elif npd.kind != "c":
        value = _real(value)
    arr = np.empty(shape, dtype=npd)
    with np.errstate(all="ignore"):
        arr.fill(value)
    return arr


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False) -> Tensor:
    """A 0-d tensor holding ``s``, of the default float dtype unless ``dtype`` is given."""
    check_device(device)
    value = _number(s, "scalar_tensor", "s", 1)
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    return _finish(_filled((), value, dt), "scalar_tensor", None, requires_grad)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
        pin_memory=False) -> Tensor:
    """An ``n`` x ``m`` (default ``n`` x ``n``) matrix with ones on the diagonal."""
    check_device(device)
    n = _int_arg(n, "eye", "n", 1)
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is None:
        m = n
    else:
        m = _int_arg(m, "eye", "m", 2)
        if m < 0:
            raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    dt = _target_dtype(dtype, out, get_default_dtype())
    return _finish(np.eye(n, m, dtype=_np_of(dt)), "eye", out, requires_grad)


def _like_dtype(input, dtype):
    return as_dtype(dtype) if dtype is not None else input.dtype


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    """Zeros with ``input``'s shape (and dtype unless given); a new leaf, outside the graph."""
    _check_input_tensor(input, "zeros_like")
    check_device(device)
    arr = np.zeros_like(input._data, dtype=_np_of(_like_dtype(input, dtype)))
    return _finish(arr, "zeros_like", None, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    """Ones with ``input``'s shape (and dtype unless given)."""
    _check_input_tensor(input, "ones_like")
    check_device(device)
    arr = np.ones_like(input._data, dtype=_np_of(_like_dtype(input, dtype)))
    return _finish(arr, "ones_like", None, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    """An uninitialised tensor with ``input``'s shape (and dtype unless given)."""
    _check_input_tensor(input, "empty_like")
    check_device(device)
    arr = np.empty_like(input._data, dtype=_np_of(_like_dtype(input, dtype)))
    return _finish(arr, "empty_like", None, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    """``input``'s shape filled with ``fill_value``, in ``input``'s dtype unless given
    (``full_like(int_tensor, 2.7)`` holds 2)."""
    _check_input_tensor(input, "full_like")
    check_device(device)
    value = _number(fill_value, "full_like", "fill_value", 2)
    arr = _filled(input._data.shape, value, _like_dtype(input, dtype))
    return _finish(arr, "full_like", None, requires_grad)


# ---------------------------------------------------------------------------------------
# ranges

def _range_number(x, fn, arg, pos):
    v = _number(x, fn, arg, pos)
    if isinstance(v, _builtin_complex):     # PyTorch's type and message
        raise RuntimeError(  # noqa: TRY004
            "value cannot be converted to type double without overflow")
    return v


def _range_args(fn, start, end, step, dtype, out, default_float_always=False):
    """Shared argument handling of ``arange``/``range``: the numbers, the result dtype, and
    PyTorch's checks (made on the values as given)."""
    if end is None:
        start, end = 0, _range_number(start, fn, "end", 1)
    else:
        start = _range_number(start, fn, "start", 1)
        end = _range_number(end, fn, "end", 2)
    step = _range_number(step, fn, "step", 3)
    any_float = any(isinstance(v, float) for v in (start, end, step))
    default = get_default_dtype() if any_float or default_float_always else _dtype.int64
    dt = _target_dtype(dtype, out, default)
    if dt is _dtype.bool or dt.is_complex:
        raise NotImplementedError(f'"{fn}_cpu" not implemented for \'{_legacy(dt)}\'')
    if step == 0:
        raise RuntimeError("step must be nonzero")
    for v in (start, end):
        if isinstance(v, float) and not math.isfinite(v):
            raise RuntimeError(f"unsupported range: {_fmt(start)} -> {_fmt(end)}")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    return start, end, step, dt


def _fmt(v):
    return f"{v:g}" if isinstance(v, float) else str(v)


def _range_values(start, step, n, dt, kernel="range") -> np.ndarray:
    """``start + step * i`` for ``i < n``, computed the way PyTorch's CPU kernels do.

    Integer results use exact integer arithmetic (``start``/``step`` already integers).
    Floats accumulate in double (float for the half types). ``range`` computes each value
    directly. ``arange`` reproduces PyTorch's vectorised loop (256-bit vectors, two per
    iteration, fused multiply-adds): inside the vector part each lane is
    ``base + j * step`` from a ``base`` rounded to the result type, the remainder is
    ``start + i * step``. This is bit-exact with PyTorch up to 32768 elements; beyond that
    PyTorch splits the work between threads and the last bits depend on the thread count.
    """
    npd = _np_of(dt)
    if npd.kind in "iu":
        with np.errstate(all="ignore"):
            return (np.arange(n, dtype=np.int64) * np.int64(step) + np.int64(start)).astype(npd)
    acc = np.dtype(np.float32 if npd.itemsize < 4 else np.float64)
    a_start, a_step = acc.type(start), acc.type(step)
    idx = np.arange(n, dtype=np.int64)
    with np.errstate(all="ignore"):
        if kernel == "range":
            return (a_start + idx.astype(acc) * a_step).astype(npd)
        lanes = 32 // npd.itemsize
        n_vec = n // (2 * lanes) * (2 * lanes)
        i0 = idx // lanes * lanes
        base = _fma_acc(a_step, i0, a_start, acc).astype(npd).astype(acc)
        vec = _fma_acc(a_step, idx - i0, base, acc)
        tail = _fma_acc(a_step, idx, a_start, acc)
        return np.where(idx < n_vec, vec, tail).astype(npd)


def _fma_acc(a, k, c, acc):
    """``a * k + c`` with one rounding to ``acc`` (float32 or float64); ``k`` integers."""
    k = np.asarray(k).astype(np.float64)
    if acc == np.float32:        # float32 * int is exact in float64
        return (np.float64(a) * k + np.asarray(c, dtype=np.float64)).astype(np.float32)
    return _fma64(np.full(k.shape, a, dtype=np.float64), k,
                  np.broadcast_to(np.asarray(c, dtype=np.float64), k.shape))


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``: ``ceil((end - start) / step)``
    of them. Integer arguments give int64, any float argument the default dtype.

    Integer results follow PyTorch: for int64 the bounds and step are truncated to integers
    first (a step that truncates to 0 is a ValueError); for the smaller integer types the
    count comes from the values as given and the elements from the truncated start and step.
    Float values reproduce PyTorch's CPU kernel bit for bit up to 32768 elements (see
    ``_range_values``).
    """
    check_device(device)
    start, end, step, dt = _range_args("arange", start, end, step, dtype, out)
    if dt is _dtype.int64:
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
        n = -((start - end) // step)           # exact ceil division
    else:
        if isinstance(start, int) and isinstance(end, int) and isinstance(step, int):
            n = -((start - end) // step)
        else:
            n = math.ceil((end - start) / step)
        if not dt.is_floating_point:
            start, step = int(start), int(step)
    n = max(int(n), 0)
    if out is not None and out._data.size != n and out._data.size:
        warnings.warn(f"The number of elements in the out tensor of shape {list(out.shape)} is "
                      f"{out._data.size} which does not match the computed number of elements "
                      f"{n}. Note that this may occur as a result of rounding error. The out "
                      f"tensor will be resized to a tensor of shape ({n},).", UserWarning,
                      stacklevel=2)
    return _finish(_range_values(start, step, n, dt, "arange"), "arange", out, requires_grad)


def range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
          requires_grad=False) -> Tensor:
    """Deprecated: like ``arange`` but including ``end``, and of the default float dtype
    unless ``dtype`` is given."""
    warnings.warn("ember.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "ember.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    check_device(device)
    start, end, step, dt = _range_args("range", start, end, step, dtype, out,
                                       default_float_always=True)
    if not dt.is_floating_point:
        # integer results: PyTorch truncates the bounds and step first
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
        if (step > 0 and end < start) or (step < 0 and end > start):
            raise RuntimeError("upper bound and lower bound inconsistent with step sign")
        n = (end - start) // step + 1
    else:
        n = math.floor((end - start) / step) + 1
    return _finish(_range_values(start, step, max(int(n), 0), dt), "range", out,
                   requires_grad)


def _space_endpoint(x, fn, arg, pos):
    if isinstance(x, Tensor) and x._data.ndim != 0:
        raise RuntimeError(f"{fn} only supports 0-dimensional start and end tensors, but got "
                           f"{arg} with {x._data.ndim} dimension(s).")
    return _number(x, fn, arg, pos)


def _space_args(fn, start, end, steps, dtype, out):
    start = _space_endpoint(start, fn, "start", 1)
    end = _space_endpoint(end, fn, "end", 2)
    steps = _int_arg(steps, fn, "steps", 3)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    cplx = isinstance(start, _builtin_complex) or isinstance(end, _builtin_complex)
    dt = _target_dtype(dtype, out, _default_complex() if cplx else get_default_dtype())
    if dt is _dtype.bool:
        raise NotImplementedError(f'"{fn}_cpu" not implemented for \'Bool\'')
    return start, end, steps, dt


def _real(v):
    return v.real if isinstance(v, _builtin_complex) else v


def _check_int_range(values, npd):
    for v in values:
        _check_number_fits(v, npd)


def _fma64(a, b, c):
    """``a * b + c`` rounded once, in float64 arrays (error-free product and sum, Dekker and
    Knuth): PyTorch's compiled kernels fuse these multiply-adds, and integer linspace
    truncates, so the single rounding is visible."""
    p = a * b
    t = 134217729.0 * a                     # split each factor into two 26-bit halves
    ah = t - (t - a)
    al = a - ah
    t = 134217729.0 * b
    bh = t - (t - b)
    bl = b - bh
    p_err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    v = s - p
    s_err = (p - (s - v)) + (c - v)
    return s + (s_err + p_err)


def _lin_values(start, end, steps, work, fused=True):
    """PyTorch's linspace kernel: ``step = (end - start) / (steps - 1)`` in the working type,
    the first half counted up from ``start`` and the second half down from ``end`` (so both
    ends are exact), each value one fused multiply-add (``fused``)."""
    if steps == 0:
        return np.empty(0, dtype=work)
    if steps == 1:
        return np.array([start], dtype=work)
    s, e = work.type(start), work.type(end)
    step = (e - s) / work.type(steps - 1)
    idx = np.arange(steps, dtype=np.int64)
    half = steps // 2
    up, down = idx[:half].astype(np.float64), (steps - idx[half:] - 1).astype(np.float64)
    if fused and work == np.float32:
        # a float32 product with an index below 2**29 is exact in float64: one rounding
        lo = (np.float64(s) + np.float64(step) * up).astype(work)
        hi = (np.float64(e) - np.float64(step) * down).astype(work)
    elif fused and work == np.float64:
        lo = _fma64(np.full(half, step), up, np.full(half, s))
        hi = _fma64(np.full(steps - half, -step), down, np.full(steps - half, e))
    else:
        lo = s + step * up.astype(work)
        hi = e - step * down.astype(work)
    return np.concatenate([lo, hi]).astype(work, copy=False)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    check_device(device)
    start, end, steps, dt = _space_args("linspace", start, end, steps, dtype, out)
    npd = _np_of(dt)
    with np.errstate(all="ignore"):
        if npd.kind in "iu":
            s, e = _real(start), _real(end)
            if steps > 1:
                # bounds converted (checked, wrapping) to the integer type, steps in double
                _check_int_range((s, e), npd)
                s, e = (float(np.array(int(v)).astype(npd)) for v in (s, e))
                arr = _lin_values(s, e, steps, np.dtype(np.float64))
            else:                               # at most one value: start (checked)
                if steps:
                    _check_int_range((s,), npd)
                arr = np.array([int(s)] * steps, dtype=np.int64)
            arr = arr.astype(np.int64).astype(npd)
        elif steps == 1:
            _check_number_fits(start, npd)
            arr = np.array([start], dtype=npd)
        elif npd.itemsize < 4 and npd.kind == "f":   # half types: rounded at every step
            arr = _lin_values(start, end, steps, npd, fused=False)
        else:
            arr = _lin_values(start, end, steps, npd, fused=npd.kind == "f")
    return _finish(arr, "linspace", out, requires_grad)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    check_device(device)
    start, end, steps, dt = _space_args("logspace", start, end, steps, dtype, out)
    base = _number(base, "logspace", "base", 4)
    npd = _np_of(dt)
    with np.errstate(all="ignore"):
        if npd.kind == "c":
            exps = _lin_values(start, end, steps, np.dtype(np.complex128), fused=False)
            arr = np.power(_builtin_complex(base), exps).astype(npd)
            return _finish(arr, "logspace", out, requires_grad)
        b = float(_real(base))
        if steps == 1:                          # PyTorch fills base ** start (checked)
            value = b ** float(_real(start))
            if npd.kind in "iu":
                _check_int_range((value,), npd)
            return _finish(_filled((1,), value, dt), "logspace", out, requires_grad)
        # the bounds converted to the result type, the exponents computed in double from
        # there, and pow(base, exponent) converted back (truncated for integers)
        if npd.kind in "iu":
            if steps > 1:
                _check_int_range((_real(start), _real(end)), npd)
            s, e = (int(np.array(int(_real(v))).astype(npd)) for v in (start, end))
            diff = float(e - s)
        else:
            s, e = npd.type(_real(start)), npd.type(_real(end))
            diff = float(e - s)
            s, e = float(s), float(e)
        idx = np.arange(steps, dtype=np.float64)
        if steps:
            step = diff / (steps - 1)
            exps = np.where(idx < steps // 2, s + step * idx, e - step * (steps - idx - 1))
        else:
            exps = idx
        arr = np.power(b, exps)
        if npd.kind in "iu":                    # C++ converts through a wide integer
            arr = arr.astype(np.int64)
        arr = arr.astype(npd)
    return _finish(arr, "logspace", out, requires_grad)


# ---------------------------------------------------------------------------------------
# complex numbers from parts

class _RealPart(Op):
    """Real part of a complex tensor (a copy). Helper for complex/polar backward."""

    def forward(self, z):
        return np.ascontiguousarray(z.real)

    def backward(self, grad):
        return Complex.apply(grad, _wrap(np.zeros_like(grad._data)))


class _ImagPart(Op):
    def forward(self, z):
        return np.ascontiguousarray(z.imag)

    def backward(self, grad):
        return Complex.apply(_wrap(np.zeros_like(grad._data)), grad)


class Complex(Op):
    """``real + 1j * imag`` (broadcasting). The gradient of each real input is the matching
    part of the complex gradient (PyTorch's convention)."""

    def forward(self, real, imag):
        out_dt = np.result_type(real.dtype, np.complex64)
        out = np.empty(np.broadcast_shapes(real.shape, imag.shape), dtype=out_dt)
        out.real = real
        out.imag = imag
        return out

    def backward(self, grad):
        return (_RealPart.apply(grad) if self.needs_input_grad[0] else None,
                _ImagPart.apply(grad) if self.needs_input_grad[1] else None)


def _check_parts(a, b, fn):
    for x in (a, b):
        if not isinstance(x, Tensor):
            raise TypeError(f"{fn}(): argument must be Tensor, not {type(x).__name__}")
    ka, kb = a._data.dtype, b._data.dtype
    if ka.kind != "f" or kb.kind != "f":
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{_legacy(a.dtype)} and {_legacy(b.dtype)}")
    if ka != kb:
        raise RuntimeError(f"Expected object of scalar type {_legacy(a.dtype)} but got scalar "
                           f"type {_legacy(b.dtype)} for second argument")
    if ka.itemsize < 4:
        raise TypeError("ember has no complex32 dtype: convert float16 parts to float32 first")


def complex(real, imag, *, out=None) -> Tensor:
    """A complex tensor from its real and imaginary parts (same floating dtype; float32 gives
    complex64, float64 complex128)."""
    _check_parts(real, imag, "complex")
    _broadcast_check(real, imag)
    return _finish_op(Complex.apply(real, imag), out)


def _broadcast_check(a, b):
    try:
        np.broadcast_shapes(a._data.shape, b._data.shape)
    except ValueError:
        sa, sb = a._data.shape, b._data.shape
        for i in _builtin_range(1, max(len(sa), len(sb)) + 1):
            x = sa[-i] if i <= len(sa) else 1
            y = sb[-i] if i <= len(sb) else 1
            if x != y and x != 1 and y != 1:
                raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor "
                                   f"b ({y}) at non-singleton dimension "
                                   f"{max(len(sa), len(sb)) - i}") from None
        raise


def _finish_op(result, out):
    if out is None:
        return result
    if result.requires_grad and STATE.enabled:
        raise RuntimeError("out=... arguments don't support automatic differentiation, but one "
                           "of the arguments requires grad.")
    return _finish(result._data, "out", out)


class _Cos(Op):
    save_inputs = (0,)

    def forward(self, x):
        return np.cos(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return -grad * _Sin.apply(x)


class _Sin(Op):
    save_inputs = (0,)

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * _Cos.apply(x)


def polar(abs, angle, *, out=None) -> Tensor:
    """``abs * (cos(angle) + 1j * sin(angle))`` from real tensors of one floating dtype."""
    _check_parts(abs, angle, "polar")
    _broadcast_check(abs, angle)
    result = Complex.apply(abs * _Cos.apply(angle), abs * _Sin.apply(angle))
    if result.grad_fn is not None:
        result.grad_fn._name = "PolarBackward0"
    return _finish_op(result, out)
