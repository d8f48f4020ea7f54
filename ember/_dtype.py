"""dtypes as ember objects, and PyTorch's type-promotion rules.

Each ember dtype wraps one NumPy dtype. Promotion follows ``torch.result_type``, not NumPy:

* categories are ordered bool < integer < floating < complex;
* operands are ranked by kind: tensors with dimensions, then 0-d tensors, then Python
  scalars. A lower-ranked operand changes the result only when it belongs to a higher
  category (``float32_tensor * 2.5`` stays float32, ``int64_tensor * 2.5`` becomes the
  default float dtype, ``int64 + float32`` tensors give float32).
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "dtype", "float16", "half", "float32", "float", "float64", "double", "bfloat16",
    "complex64", "cfloat", "complex128", "cdouble", "uint8", "int8", "int16", "short",
    "int32", "int", "int64", "long", "bool", "get_default_dtype", "set_default_dtype",
    "promote_types", "result_type", "can_cast", "finfo", "iinfo",
]

_bool = bool  # the builtin, before this module shadows it


class dtype:
    """A tensor element type (``ember.float32`` ...). Compare with ``is`` or ``==``."""

    __slots__ = ("name", "np", "is_floating_point", "is_complex", "is_signed", "itemsize",
                 "_category", "_legacy")

    def __init__(self, name, np_dtype, category, legacy):
        self.name = name
        self.np = np.dtype(np_dtype) if np_dtype is not None else None
        self._category = category          # 0 bool, 1 integer, 2 floating, 3 complex
        self.is_floating_point = category == 2
        self.is_complex = category == 3
        self.is_signed = name not in ("bool", "uint8")
        self.itemsize = self.np.itemsize if self.np is not None else 2
        self._legacy = legacy              # the legacy tensor type name, e.g. 'FloatTensor'

    def __repr__(self):
        return "ember." + self.name

    def __reduce__(self):                  # pickles as a reference to the module attribute
        return (_dtype_by_name, (self.name,))

    def to_real(self):
        return {"complex64": float32, "complex128": float64}.get(self.name, self)

    def to_complex(self):
        return {"float32": complex64, "float64": complex128, "float16": complex64,
                "bfloat16": complex64}.get(self.name, self)


def _dtype_by_name(name):
    return _BY_NAME[name]


bool = dtype("bool", np.bool_, 0, "BoolTensor")
uint8 = dtype("uint8", np.uint8, 1, "ByteTensor")
int8 = dtype("int8", np.int8, 1, "CharTensor")
int16 = short = dtype("int16", np.int16, 1, "ShortTensor")
int32 = int = dtype("int32", np.int32, 1, "IntTensor")
int64 = long = dtype("int64", np.int64, 1, "LongTensor")
float16 = half = dtype("float16", np.float16, 2, "HalfTensor")
float32 = float = dtype("float32", np.float32, 2, "FloatTensor")
float64 = double = dtype("float64", np.float64, 2, "DoubleTensor")
complex64 = cfloat = dtype("complex64", np.complex64, 3, "ComplexFloatTensor")
complex128 = cdouble = dtype("complex128", np.complex128, 3, "ComplexDoubleTensor")

try:  # bfloat16 needs the optional ml_dtypes package (NumPy has no such type)
    import ml_dtypes as _ml_dtypes
    bfloat16 = dtype("bfloat16", _ml_dtypes.bfloat16, 2, "BFloat16Tensor")
except ImportError:
    bfloat16 = dtype("bfloat16", None, 2, "BFloat16Tensor")

_ALL = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
        complex64, complex128)
_BY_NAME = {d.name: d for d in _ALL}
# NumPy dtype -> ember dtype; the Tensor's dtype property is one lookup here.
NP_TO_DTYPE = {d.np: d for d in _ALL if d.np is not None}


def to_np(d) -> np.dtype:
    """The NumPy dtype for an ember dtype (or anything NumPy understands)."""
    if type(d) is dtype:
        if d.np is None:
            raise TypeError(f"{d} needs the optional 'ml_dtypes' package (pip install ml_dtypes)")
        return d.np
    return np.dtype(d)


def from_np(np_dtype) -> dtype:
    try:
        return NP_TO_DTYPE[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(f"ember has no dtype for NumPy dtype {np.dtype(np_dtype)}") from None


def as_dtype(d) -> dtype:
    """Accept an ember dtype, a NumPy dtype, or a Python type (float -> default dtype)."""
    if type(d) is dtype:
        return d
    if d is _builtin_float:              # Python's float is double precision, as in torch
        return float64
    if d is _builtin_int:
        return int64
    if d is _bool:
        return bool
    if d is complex:
        return complex128
    if isinstance(d, str):
        try:
            return _BY_NAME[d.replace("torch.", "").replace("ember.", "")]
        except KeyError:
            pass
    try:
        return from_np(d)
    except TypeError:
        raise TypeError(f"dtype must be an ember.dtype, got {d!r}") from None


_builtin_float = __builtins__["float"] if isinstance(__builtins__, dict) else __builtins__.float
_builtin_int = __builtins__["int"] if isinstance(__builtins__, dict) else __builtins__.int

# ---------------------------------------------------------------------------------------
# default dtype
_default = [float32]


def get_default_dtype() -> dtype:
    """The dtype of floating-point tensors made from Python floats (float32 unless changed)."""
    return _default[0]


def set_default_dtype(d) -> None:
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    to_np(d)                              # bfloat16 needs ml_dtypes: refuse it now, not later
    _default[0] = d


# ---------------------------------------------------------------------------------------
# promotion
_ORDER = {d: i for i, d in enumerate(_ALL)}


def _promote_pair(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a is bfloat16 or b is bfloat16:
        other = b if a is bfloat16 else a
        if other is float16:
            return float32
        if other._category < 2:
            return bfloat16
        return other if other is not float16 else float32
    if a._category == 1 and b._category == 1:
        if (a is uint8) != (b is uint8):               # uint8 with a signed type
            signed = b if a is uint8 else a
            return int16 if signed is int8 else signed
        return a if a.itemsize >= b.itemsize else b
    if a._category != b._category:
        hi, lo = (a, b) if a._category > b._category else (b, a)
        if hi.is_complex and lo is float64:
            return complex128
        return hi
    return a if _ORDER[a] >= _ORDER[b] else b


_PROMOTE_CACHE: dict = {}


def promote_types(type1, type2) -> dtype:
    """The smallest dtype that holds both (PyTorch's table, e.g. uint8+int8 -> int16)."""
    a, b = as_dtype(type1), as_dtype(type2)
    key = (a, b)
    r = _PROMOTE_CACHE.get(key)
    if r is None:
        r = _PROMOTE_CACHE[key] = _promote_pair(a, b)
    return r


def scalar_dtype(x) -> dtype:
    """The dtype a Python scalar would get as a tensor."""
    if isinstance(x, _bool) or isinstance(x, np.bool_):
        return bool
    if isinstance(x, (_builtin_int, np.integer)):
        return int64
    if isinstance(x, complex):
        return _default[0].to_complex()
    return _default[0]


def _category_of_scalar(x):
    if isinstance(x, (_bool, np.bool_)):
        return 0
    if isinstance(x, (_builtin_int, np.integer)):
        return 1
    if isinstance(x, complex):
        return 3
    return 2


def result_type(*operands) -> dtype:
    """``torch.result_type``: the dtype an arithmetic op on these operands produces."""
    from ._tensor import Tensor
    # three tiers: dimensioned tensors, 0-d tensors, Python scalars
    tiers = [None, None, None]
    for x in operands:
        if isinstance(x, Tensor):
            t = 0 if x._data.ndim else 1
            d = x.dtype
        elif isinstance(x, dtype):
            t, d = 0, x
        else:
            t = 2
            cat = _category_of_scalar(x)
            d = {0: bool, 1: int64, 2: _default[0], 3: _default[0].to_complex()}[cat]
        tiers[t] = d if tiers[t] is None else promote_types(tiers[t], d)
    return _combine(tiers[0], _combine(tiers[1], tiers[2]))


def _combine(higher, lower):
    """Combine the result of a higher tier with a lower one (PyTorch's rule)."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_complex:
        return higher
    if lower.is_complex:
        return higher.to_complex() if higher.is_floating_point else lower
    if higher.is_floating_point:
        return higher
    if higher is bool or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def can_cast(from_, to) -> _bool:
    """Whether PyTorch's in-place/out= casting rule allows ``from_`` into ``to``
    (no lowering of category: float -> int and int -> bool are refused)."""
    a, b = as_dtype(from_), as_dtype(to)
    return a._category <= b._category


class finfo:
    """Machine limits of a floating dtype (``ember.finfo(ember.float32).eps``)."""

    def __init__(self, type=None):
        d = as_dtype(type) if type is not None else _default[0]
        if not (d.is_floating_point or d.is_complex):
            raise TypeError(f"finfo expects a floating point dtype, got {d}")
        fi = np.finfo(to_np(d.to_real()))
        self.dtype = d.to_real().name
        self.bits = fi.bits
        self.eps = _builtin_float(fi.eps)
        self.max = _builtin_float(fi.max)
        self.min = _builtin_float(fi.min)
        self.tiny = self.smallest_normal = _builtin_float(fi.tiny)
        self.resolution = 10.0 ** -fi.precision

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Machine limits of an integer dtype."""

    def __init__(self, type):
        d = as_dtype(type)
        if d is bool:
            raise TypeError("ember.bool is not supported by ember.iinfo")
        if d._category > 1:
            raise TypeError(f"iinfo expects an integer dtype, got {d}")
        ii = np.iinfo(to_np(d))
        self.dtype = d.name
        self.bits = ii.bits
        self.max = _builtin_int(ii.max)
        self.min = _builtin_int(ii.min)

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
