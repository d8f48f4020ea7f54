"""PyTorch's checkpoint formats, read and written with NumPy only (never importing torch).

This module is the machinery behind ``ember.save`` / ``ember.load`` (see
``ember/serialization.py`` for the user-facing description):

* the **zip container** ``torch.save`` writes: ``<archive>/data.pkl`` (a pickle of the object
  whose tensors point at storages through persistent ids), ``<archive>/data/<key>`` (the raw
  little-endian bytes of each storage, every record aligned to 64 bytes so it can be
  memory-mapped), and the small records ``byteorder``, ``version``, ``.format_version``,
  ``.storage_alignment`` and ``.data/serialization_id``;
* a **pickler** that writes ``data.pkl`` with exactly the globals PyTorch uses
  (``torch._utils._rebuild_tensor_v2``, ``torch._utils._rebuild_parameter``,
  ``torch.FloatStorage``, ``torch.float32``, ``torch.Size``, ``torch.device``,
  ``collections.OrderedDict``), so ``torch.load(path, weights_only=True)`` reads it;
* a **restricted unpickler**: a small interpreter for the pickle opcodes, written here
  rather than subclassing ``pickle.Unpickler``, so that every opcode that can call
  something (``REDUCE``, ``NEWOBJ``, ``BUILD``, ``APPEND``, ``SETITEM``, ...) is checked
  against an allow-list before anything runs. Globals are resolved by name against fixed
  tables (the ``torch.*`` names map to NumPy-backed reconstruction functions here), never
  by importing the named module, except for ``ember.nn.Module`` subclasses (see
  ``LoadPolicy``);
* the **legacy** (pre-1.6, non-zip) format, read only.
"""
from __future__ import annotations

import codecs
import io
import pickle
import struct
import sys
import types
import warnings
import zipfile
import zlib
from collections import Counter, OrderedDict

import numpy as np

from . import _dtype
from ._device import CPU, BackendUnavailableError, check_device
from ._device import device as _device_cls
from ._size import Size
from ._tensor import Tensor, _root_array, _wrap

ALIGNMENT = 64                   # storage records start on 64-byte boundaries (as torch's)
ARCHIVE = "archive"              # the top-level directory inside the zip
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_CHUNK = 1 << 24                 # storages are written in 16 MiB pieces

# ---------------------------------------------------------------------------------------
# dtypes: torch's storage class names and dtype names <-> ember dtypes

_STORAGE_NAMES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}
_STORAGE_OF_DTYPE = {v: k for k, v in _STORAGE_NAMES.items()}
# torch dtypes ember has no equivalent for: a tensor of one of these cannot be loaded
_UNSUPPORTED_TORCH_DTYPES = (
    "uint16", "uint32", "uint64", "complex32", "chalf", "qint8", "quint8", "qint32",
    "quint4x2", "quint2x4", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
    "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "bits8", "bits16",
    "bits1x8", "bits2x4", "bits4x2", "int1", "int2", "int3", "int4", "int5", "int6",
    "int7", "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
)
_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16",
                  "long": "int64", "int": "int32", "short": "int16", "cfloat": "complex64",
                  "cdouble": "complex128"}


class UnsupportedDtype:
    """A torch dtype (or storage type) named in a checkpoint that ember cannot represent;
    loading a tensor of it raises."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


class UntypedStorageType:
    """``torch.UntypedStorage`` in a persistent id: the storage's dtype comes from the
    tensor (``_rebuild_tensor_v3``)."""

    def __repr__(self):
        return "torch.UntypedStorage"


class StorageType:
    """``torch.FloatStorage`` and friends: a storage type naming its dtype."""

    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


_UNTYPED = UntypedStorageType()
_STORAGE_TYPES = {name: StorageType(name, _dtype._BY_NAME[d]) for name, d in
                  _STORAGE_NAMES.items()}


# ---------------------------------------------------------------------------------------
# Loaded storages


class LoadedStorage:
    """The bytes of one storage read from a checkpoint: what a ``map_location`` callable
    receives (as ``storage``) and may return (``storage`` or ``storage.cpu()``).

    ember has only the CPU, so ``cpu()`` returns the storage and ``cuda()`` raises."""

    def __init__(self, raw, key, byteorder="little"):
        self._raw = raw                    # 1-D uint8 array (possibly memory-mapped)
        self.key = key
        self._byteorder = byteorder
        self._typed = {}                   # dtype name -> ndarray over (or converted from) raw
        self._pending = []                 # conversions to redo once raw is filled (legacy)
        self._filled = True
        self._warn = None                  # callback warning once about bfloat16 upcasts

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False):
        check_device("cuda" if device is None else device)
        return self

    def to(self, device=None, non_blocking=False):
        check_device(device)
        return self

    def nbytes(self):
        return int(self._raw.nbytes)

    size = nbytes

    def __len__(self):
        return self.nbytes()

    def __repr__(self):
        return f"<ember LoadedStorage key={self.key!r} nbytes={self.nbytes()} device='cpu'>"

    def typed(self, dt) -> np.ndarray:
        """The storage as a 1-D array of ember dtype ``dt`` (shared by every tensor that
        views it, so views saved together stay views after loading)."""
        arr = self._typed.get(dt.name)
        if arr is not None:
            return arr
        item = dt.itemsize
        if self._raw.nbytes % item:
            raise ValueError(f"storage '{self.key}' holds {self._raw.nbytes} bytes, not a "
                             f"whole number of {dt.name} elements")
        n = self._raw.nbytes // item
        native = sys.byteorder == self._byteorder or item == 1
        if dt.np is not None and native:
            arr = self._raw.view(dt.np)
        else:
            target = dt.np if dt.np is not None else np.dtype(np.float32)
            if dt.np is None and self._warn is not None:
                self._warn()
            arr = np.empty(n, dtype=target)
            self._pending.append((dt, arr))
            if self._filled:
                self._convert(dt, arr)
        self._typed[dt.name] = arr
        return arr

    def _convert(self, dt, out):
        order = "<" if self._byteorder == "little" else ">"
        if dt.np is None:                  # bfloat16 without ml_dtypes: upcast to float32
            bits = self._raw.view(order + "u2").astype(np.uint32) << 16
            out[...] = bits.view(np.float32)
        elif dt.np.kind == "b":
            out[...] = self._raw.view(np.bool_)
        else:
            out[...] = self._raw.view(dt.np.newbyteorder(order))

    def _fill_done(self):
        self._filled = True
        for dt, arr in self._pending:
            self._convert(dt, arr)


class StorageSlice:
    """A view into another storage (the legacy format's ``view_metadata``)."""

    def __init__(self, base, offset, size):
        self.base, self.offset, self.size = base, offset, size

    def typed(self, dt):
        arr = self.base.typed(dt)
        if self.offset < 0 or self.offset + self.size > arr.size:
            raise ValueError("storage view out of range")
        return arr[self.offset:self.offset + self.size]


class TypedStorage:
    """What a persistent id unpickles to: a storage and the dtype it was saved with."""

    __slots__ = ("dtype", "storage")

    def __init__(self, storage, dtype):
        self.storage, self.dtype = storage, dtype


class PassThrough(Exception):
    """Carries an exception that ``ember.load`` re-raises as is (not as a corrupt file)."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


def _restore_default(storage, location):
    dev = location if isinstance(location, _device_cls) else _device_cls(str(location))
    if dev.type == "cuda":
        raise BackendUnavailableError(
            "Attempting to deserialize object on a CUDA device but ember.cuda.is_available() "
            "is False. If you are running on a CPU-only machine, please use ember.load with "
            "map_location=ember.device('cpu') to map your storages to the CPU.")
    check_device(dev)
    return storage


def make_restore(map_location):
    """``map_location`` (None, a str, an ``ember.device``, a dict or a callable) as a function
    ``(storage, location) -> storage`` that checks the final location is the CPU."""
    if map_location is None:
        return _restore_default
    if isinstance(map_location, (str, _device_cls)):
        target = str(map_location)
        _device_cls(target)                # an invalid device string fails before reading
        return lambda storage, location: _restore_default(storage, target)
    if isinstance(map_location, dict):
        table = {str(k): str(v) for k, v in map_location.items()}
        return lambda storage, location: _restore_default(storage,
                                                           table.get(location, location))
    if callable(map_location):
        def restore(storage, location):
            try:
                result = map_location(storage, location)
            except Exception as e:        # the user's error, not a corrupt file: pass it on
                raise PassThrough(e) from e
            if result is None:
                result = _restore_default(storage, location)
            if not isinstance(result, LoadedStorage):
                raise PassThrough(TypeError(
                    f"map_location must return a storage (the one it was given, or "
                    f"storage.cpu()) or None, got {type(result).__name__}"))
            return result
        return restore
    raise TypeError(f"map_location should be either None, str, ember.device, dict, or "
                    f"callable, got {type(map_location).__name__}")


# ---------------------------------------------------------------------------------------
# Rebuilding tensors (the targets of torch's reduce calls)


def _int(x, what):
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {type(x).__name__}")
    return int(x)


def _int_tuple(x, what):
    if not isinstance(x, (tuple, list)):
        raise TypeError(f"{what} must be a tuple of ints, got {type(x).__name__}")
    return tuple(_int(v, what) for v in x)


def strided_view(arr, offset, size, stride):
    """``arr[offset:]`` seen with ``size`` and ``stride`` (in elements), checked to lie
    inside ``arr`` (a corrupt file must not read outside its own memory)."""
    offset = _int(offset, "storage_offset")
    size = _int_tuple(size, "size")
    stride = _int_tuple(stride, "stride")
    if len(size) != len(stride):
        raise ValueError(f"size {size} and stride {stride} have different lengths")
    if any(s < 0 for s in size):
        raise ValueError(f"negative size in {size}")
    if any(s == 0 for s in size):
        return np.empty(size, dtype=arr.dtype)
    if offset < 0 or any(st < 0 for st in stride):
        raise ValueError(f"negative storage offset {offset} or stride {stride}")
    last = offset + sum((n - 1) * st for n, st in zip(size, stride))
    if last >= arr.size:
        raise ValueError(f"a tensor of size {size}, stride {stride} and offset {offset} "
                         f"needs {last + 1} elements but its storage has {arr.size}")
    item = arr.itemsize
    return np.ndarray(size, dtype=arr.dtype, buffer=arr, offset=offset * item,
                      strides=tuple(st * item for st in stride))


def _storage_array(storage, dt):
    if not isinstance(storage, TypedStorage):
        raise TypeError(f"expected a storage, got {type(storage).__name__}")
    if dt is None:
        dt = storage.dtype
    if isinstance(dt, UnsupportedDtype):     # a valid file ember cannot represent: not a type error
        raise RuntimeError(  # noqa: TRY004
            f"ember has no {dt.name} dtype, so a torch.{dt.name} tensor in this checkpoint "
            f"cannot be loaded (convert it in PyTorch first)")
    if not isinstance(dt, _dtype.dtype):
        raise TypeError(f"expected a dtype, got {type(dt).__name__}")
    return storage.storage.typed(dt)


def _make_tensor(arr, requires_grad):
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                      backward_hooks=None, metadata=None):
    """``torch._utils._rebuild_tensor_v2``: a tensor viewing a typed storage."""
    arr = strided_view(_storage_array(storage, None), storage_offset, size, stride)
    return _make_tensor(arr, bool(requires_grad))


def rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                      dtype, metadata=None):
    """``torch._utils._rebuild_tensor_v3``: like v2, the dtype given explicitly."""
    arr = strided_view(_storage_array(storage, dtype), storage_offset, size, stride)
    return _make_tensor(arr, bool(requires_grad))


def rebuild_tensor(storage, storage_offset, size, stride):
    """``torch._utils._rebuild_tensor`` (older files)."""
    return rebuild_tensor_v2(storage, storage_offset, size, stride)


def _set_state(obj, state):
    """Extra attributes saved with a tensor: set those the class does not define."""
    if not state:
        return
    if isinstance(state, tuple) and len(state) == 2:    # (dict, slots) form
        state = {**(state[0] or {}), **(state[1] or {})}
    if not isinstance(state, dict):
        raise TypeError(f"tensor state must be a dict, got {type(state).__name__}")
    for k, v in state.items():
        if not isinstance(k, str):
            raise TypeError("tensor state keys must be str")
        if k.startswith("__") or hasattr(type(obj), k):
            continue
        obj.__dict__[k] = v


def rebuild_parameter(data, requires_grad, backward_hooks=None):
    """``torch._utils._rebuild_parameter``."""
    from .nn.parameter import Parameter
    if not isinstance(data, Tensor):
        raise TypeError(f"Parameter data must be a tensor, got {type(data).__name__}")
    return Parameter(data, requires_grad=bool(requires_grad))


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    """``torch._utils._rebuild_parameter_with_state``."""
    p = rebuild_parameter(data, requires_grad)
    _set_state(p, state)
    return p


def rebuild_from_type_v2(func, new_type, args, state):
    """``torch._tensor._rebuild_from_type_v2``: rebuild with ``func``, then make the result
    an instance of ``new_type`` (a Tensor subclass the policy already let through)."""
    from .nn.parameter import Parameter
    if not any(func is f for f in _REBUILDERS):
        raise pickle.UnpicklingError(f"_rebuild_from_type_v2 with {func!r} is not allowed")
    if not isinstance(args, tuple):
        raise TypeError("_rebuild_from_type_v2 args must be a tuple")
    if not (isinstance(new_type, type) and issubclass(new_type, Tensor)):
        raise pickle.UnpicklingError(f"_rebuild_from_type_v2 to {new_type!r} is not allowed")
    ret = func(*args)
    if type(ret) is not new_type:
        if new_type is Parameter:
            ret = Parameter(ret, requires_grad=ret.requires_grad)
        else:
            sub = _wrap(ret._data, new_type)
            sub._requires_grad = ret._requires_grad
            ret = sub
    _set_state(ret, state)
    return ret


_REBUILDERS = (rebuild_tensor_v2, rebuild_tensor_v3, rebuild_tensor, rebuild_parameter,
               rebuild_parameter_with_state)


def _make_size(sizes):
    return Size(_int_tuple(sizes, "Size"))


def _make_device(type_, index=None):
    if isinstance(type_, _device_cls):
        return type_
    if not isinstance(type_, (str, int)) or isinstance(type_, bool):
        raise TypeError(f"device type must be a str, got {type(type_).__name__}")
    if index is not None:
        index = _int(index, "device index")
    return _device_cls(type_, index)


def _make_set(items=()):
    return set(_iterable(items))


def _make_frozenset(items=()):
    return frozenset(_iterable(items))


def _iterable(items):
    if not isinstance(items, (list, tuple, set, frozenset)):
        raise TypeError(f"expected a list, got {type(items).__name__}")
    return items


def _make_complex(real=0.0, imag=0.0):
    for v in (real, imag):
        if not isinstance(v, (int, float)):
            raise TypeError("complex() parts must be numbers")
    return complex(real, imag)


def _make_bytearray(data=b"", encoding=None):
    if isinstance(data, str):
        if encoding not in ("latin-1", "latin1"):
            raise TypeError("bytearray() from str needs the latin-1 encoding")
        return bytearray(data, "latin-1")
    if not isinstance(data, (bytes, bytearray)) or encoding is not None:
        raise TypeError("bytearray() expects bytes")
    return bytearray(data)


def _codecs_encode(text, encoding="utf-8"):
    # protocol-2 pickles store bytes as _codecs.encode(str, 'latin1')
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise TypeError("_codecs.encode is only allowed as encode(str, 'latin1')")
    return text.encode("latin-1")


def _make_ordered_dict(items=()):
    return OrderedDict(_pairs(items))


def _make_counter(items=()):
    return Counter(_pairs(items) if not isinstance(items, dict) else items)


def _pairs(items):
    if isinstance(items, dict):
        return items
    items = _iterable(items)
    for p in items:
        if not (isinstance(p, (tuple, list)) and len(p) == 2):
            raise TypeError("expected key/value pairs")
    return items


# numpy: arrays and scalars of plain (non-object) dtypes

def _np_dtype(spec, align=False, copy=False):
    if not isinstance(spec, str) or len(spec) > 16 or not isinstance(align, bool) or \
            not isinstance(copy, bool):
        raise TypeError("numpy.dtype() arguments must be (str, bool, bool)")
    dt = np.dtype(spec)                # parsing a type string imports nothing
    if dt.hasobject or dt.fields is not None or dt.kind == "V":
        raise pickle.UnpicklingError(f"numpy dtype {spec!r} (object, void or structured) is "
                                     f"not allowed")
    return dt


def _np_scalar(dt, data=None):
    if not isinstance(dt, np.dtype) or dt.hasobject or dt.kind == "V":
        raise pickle.UnpicklingError("numpy scalars must have a plain dtype")
    if not isinstance(data, (bytes, bytearray)) or len(data) != dt.itemsize:
        raise TypeError("numpy scalar data must be bytes of the dtype's size")
    return np.frombuffer(bytes(data), dtype=dt)[0]


def _np_reconstruct(cls, shape, dtype_code):
    if cls is not np.ndarray:
        raise pickle.UnpicklingError("numpy _reconstruct is only allowed for numpy.ndarray")
    return np.ndarray.__new__(np.ndarray, _int_tuple(shape, "shape"), "b")


def _build_ndarray(arr, state):
    if not (isinstance(state, tuple) and len(state) == 5):
        raise TypeError("bad numpy array state")
    version, shape, dt, fortran, raw = state
    if not isinstance(dt, np.dtype) or dt.hasobject or dt.kind == "V":
        raise pickle.UnpicklingError("numpy arrays must have a plain dtype (no object arrays)")
    if not isinstance(raw, (bytes, bytearray)) or not isinstance(fortran, bool):
        raise TypeError("bad numpy array state")
    _int_tuple(shape, "shape")
    arr.__setstate__((_int(version, "version"), tuple(shape), dt, fortran, bytes(raw)))


def _build_np_dtype(dt, state):
    if not (isinstance(state, tuple) and 8 <= len(state) <= 9):
        raise TypeError("bad numpy dtype state")
    if state[3] is not None or state[4] is not None:
        raise pickle.UnpicklingError("structured numpy dtypes are not allowed")
    for v in state:
        if v is not None and not isinstance(v, (int, str, bytes)):
            raise TypeError("bad numpy dtype state")
    dt.__setstate__(state)


# ---------------------------------------------------------------------------------------
# The load policy: which globals a checkpoint may name, and what may be done with them

_TORCH_CALLABLES = {
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): rebuild_tensor_v3,
    ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter_with_state,
    ("torch._tensor", "_rebuild_from_type_v2"): rebuild_from_type_v2,
    ("torch", "Size"): _make_size,
    ("torch", "device"): _make_device,
    ("collections", "OrderedDict"): _make_ordered_dict,
    ("collections", "Counter"): _make_counter,
    ("builtins", "set"): _make_set,
    ("builtins", "frozenset"): _make_frozenset,
    ("builtins", "complex"): _make_complex,
    ("builtins", "bytearray"): _make_bytearray,
    ("_codecs", "encode"): _codecs_encode,
}
for _np_mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _TORCH_CALLABLES[(_np_mod, "scalar")] = _np_scalar
    _TORCH_CALLABLES[(_np_mod, "_reconstruct")] = _np_reconstruct
_TORCH_CALLABLES[("numpy", "dtype")] = _np_dtype
_SAFE_CALLABLES = frozenset(id(f) for f in _TORCH_CALLABLES.values())

# objects a global may name but that are never called while loading
_VALUES = {("numpy", "ndarray"): np.ndarray}
for _name, _st in _STORAGE_TYPES.items():
    _VALUES[("torch", _name)] = _st
for _mod in ("torch", "torch.storage"):
    _VALUES[(_mod, "UntypedStorage")] = _UNTYPED
    _VALUES[(_mod, "_UntypedStorage")] = _UNTYPED
for _d in _dtype._ALL:
    _VALUES[("torch", _d.name)] = _d
    _VALUES[("ember", _d.name)] = _d
for _alias, _name in _DTYPE_ALIASES.items():
    _VALUES[("torch", _alias)] = _dtype._BY_NAME[_name]
for _name in _UNSUPPORTED_TORCH_DTYPES:
    _VALUES[("torch", _name)] = UnsupportedDtype(_name)
for _name in ("QInt8Storage", "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage",
              "QUInt2x4Storage", "ComplexHalfStorage", "UInt16Storage", "UInt32Storage",
              "UInt64Storage"):
    _VALUES[("torch", _name)] = UnsupportedDtype(_name)

_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


def _tensor_classes():
    from .nn.parameter import Parameter
    return {("torch", "Tensor"): Tensor, ("torch._tensor", "Tensor"): Tensor,
            ("torch.nn.parameter", "Parameter"): Parameter, ("torch.nn", "Parameter"): Parameter,
            ("ember", "Tensor"): Tensor, ("ember._tensor", "Tensor"): Tensor,
            ("ember.nn.parameter", "Parameter"): Parameter, ("ember.nn", "Parameter"): Parameter}


def _lazy_classes():
    from .nn import parameter
    return (parameter.UninitializedParameter, parameter.UninitializedBuffer)


_MISSING = object()
_MODULE_DICT = types.ModuleType.__dict__["__dict__"]
_TYPE_DICT = type.__dict__["__dict__"]


def lookup_static(module, qualname):
    """``module.qualname`` (dotted through classes) by plain dictionary lookups, read with
    the base descriptors: no module ``__getattr__``, metaclass or property code runs."""
    obj = module
    for i, part in enumerate(qualname.split(".")):
        if i == 0:
            d = _MODULE_DICT.__get__(module)
        elif issubclass(type(obj), type):
            d = _TYPE_DICT.__get__(obj)
        else:
            return _MISSING
        if type(part) is not str or part not in d:
            return _MISSING
        obj = d[part]
    return obj


class _Getattr:
    """``builtins.getattr`` as a checkpoint may use it: only ``getattr(module, "method")``,
    re-binding a method defined by the class of an ``nn.Module`` rebuilt by this load (lazy
    modules keep bound methods as hooks). Nothing is called."""

    def __repr__(self):
        return "builtins.getattr"


_GETATTR = _Getattr()


def _internal_classes():
    """ember's own helper classes that modules hold and that are safe to rebuild with
    ``__new__`` + ``__setstate__``."""
    from .nn.modules.module import RemovableHandle
    return (RemovableHandle,)


def _functional_values():
    """Functions of ``ember.nn.functional`` that modules keep as attributes
    (``TransformerEncoderLayer.activation``): loaded as references, never called."""
    from .nn import functional
    return {id(v): v for v in vars(functional).values()
            if callable(v) and not isinstance(v, type) and
            getattr(v, "__module__", "").startswith("ember.")}


_user_globals: dict = {}          # "module.qualname" -> object (add_safe_globals)


def _global_name(obj):
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def add_safe_globals(safe_globals) -> None:
    """Trust these classes/functions when loading (like ``torch.serialization``'s): each
    item is an object, or ``(object, "module.name")`` to allow it under another name.
    Allowed objects may be called, instantiated and given state by the checkpoint."""
    for item in safe_globals:
        if isinstance(item, tuple):
            if len(item) != 2 or not isinstance(item[1], str):
                raise TypeError("add_safe_globals expects objects or (object, 'module.name') "
                                "tuples")
            _user_globals[item[1]] = item[0]
        else:
            _user_globals[_global_name(item)] = item


def get_safe_globals() -> list:
    """The objects added with ``add_safe_globals``."""
    return [obj if _global_name(obj) == name else (obj, name)
            for name, obj in _user_globals.items()]


def clear_safe_globals() -> None:
    """Forget every object added with ``add_safe_globals``."""
    _user_globals.clear()


class safe_globals:
    """Context manager adding ``safe_globals`` for the duration of a ``with`` block."""

    def __init__(self, safe_globals):
        self._items = list(safe_globals)

    def __enter__(self):
        self._saved = dict(_user_globals)
        add_safe_globals(self._items)
        return self

    def __exit__(self, *exc):
        _user_globals.clear()
        _user_globals.update(self._saved)
        return False


_REFUSED_HEAD = ("Weights only load failed. ember.load never runs code from a checkpoint: it "
                 "rebuilds tensors, containers and ember types, and (unless weights_only=True) "
                 "ember.nn.Module subclasses that are already imported.")


class LoadPolicy:
    """Decides what a pickle may name and do.

    * ``torch.*``/``collections``/``builtins``/``numpy`` names in fixed tables map to
      checked reconstruction functions defined here (torch is never imported);
    * ``ember.nn.Module`` subclasses (and ember Tensor subclasses) are allowed unless
      ``weights_only``: their module must already be imported (``ember.*`` modules may be
      imported, they are ember's own code), the class is found by dictionary lookups only
      (no module ``__getattr__`` runs), and an instance is only created with
      ``cls.__new__(cls)`` and given its saved ``__dict__`` through ``__setstate__``; calling
      the class (``__init__`` with pickled arguments) is refused;
    * ``getattr(module, "method")`` only re-binds a method of a Module rebuilt by this load
      (lazy modules' hooks), and ember's ``RemovableHandle`` may be rebuilt (their handles);
    * objects passed to ``add_safe_globals`` are trusted like ordinary pickle would;
    * anything else is refused with ``pickle.UnpicklingError`` before it is touched.
    """

    def __init__(self, weights_only, source):
        self.weights_only = bool(weights_only)
        self.source = source
        self._callables = dict(_TORCH_CALLABLES)
        self._values = dict(_VALUES)
        self._values.update(_tensor_classes())
        self._functions = None
        self._user = dict(_user_globals)
        self._user_ids = {id(v) for v in self._user.values()}
        self._lazy = _lazy_classes()
        self._internal = _internal_classes()

    # -------------------------------------------------------------- errors
    def refuse(self, what, why=""):
        hint = ("If you trust this class or function, allowlist it with "
                "ember.serialization.add_safe_globals([...]) or the "
                "ember.serialization.safe_globals([...]) context manager.")
        return pickle.UnpicklingError(f"{_REFUSED_HEAD} Unsupported global: {what} was not an "
                                      f"allowed global by default. {why}{hint} "
                                      f"(while loading {self.source})")

    # -------------------------------------------------------------- GLOBAL
    def find(self, module, name):
        module = _PY2_MODULES.get(module, module)
        key = (module, name)
        full = f"{module}.{name}"
        if full in self._user:
            return self._user[full]
        if key == ("builtins", "getattr") and not self.weights_only:
            return _GETATTR
        if key in self._callables:
            return self._callables[key]
        if key in self._values:
            return self._values[key]
        what = f"GLOBAL {full}"
        if module == "torch" or module.startswith("torch."):
            raise self.refuse(what, "ember maps only torch's tensor, storage, dtype, Size and "
                              "device globals; a pickled torch.nn module or other torch object "
                              "cannot be loaded (save its state_dict() instead). ")
        obj = self._lookup(module, name, what)
        from .nn.modules.module import Module
        if issubclass(type(obj), type) and issubclass(obj, (Module, Tensor)):
            if self.weights_only:
                raise self.refuse(what, "weights_only=True loads tensors and containers only, "
                                  "and this checkpoint holds a pickled object of this class "
                                  "(e.g. a whole model saved with ember.save(model, f)). Load "
                                  "it with weights_only=False (still restricted: only "
                                  "already-imported nn.Module subclasses are rebuilt, no code "
                                  "from the file runs), or save model.state_dict() instead. ")
            return obj
        if self._functions is None:
            self._functions = _functional_values()
        if not self.weights_only and (id(obj) in self._functions or
                                      any(obj is c for c in self._internal)):
            return obj
        raise self.refuse(what)

    def _lookup(self, module, name, what):
        mod = sys.modules.get(module)
        if mod is None and (module == "ember" or module.startswith("ember.")) and \
                all(part.isidentifier() for part in module.split(".")):
            import importlib
            try:
                mod = importlib.import_module(module)
            except ImportError:
                mod = None
        if mod is None:
            raise self.refuse(what, f"Module '{module}' is not imported: ember.load never "
                              f"imports a module named by a checkpoint (importing runs its "
                              f"code). Import the module that defines your model class "
                              f"before calling ember.load. ")
        if not isinstance(mod, types.ModuleType):
            raise self.refuse(what, f"sys.modules['{module}'] is not a module. ")
        obj = lookup_static(mod, name)
        if obj is _MISSING:
            raise self.refuse(what, f"'{name}' was not found in module '{module}'. ")
        return obj

    # -------------------------------------------------------------- REDUCE / NEWOBJ / BUILD
    def call(self, func, args):
        if not isinstance(args, tuple):
            raise pickle.UnpicklingError("REDUCE arguments must be a tuple")
        if id(func) in _SAFE_CALLABLES or id(func) in self._user_ids:
            return func(*args)
        if func is _GETATTR:
            return self._bind_method(*args) if len(args) == 2 else self._bad_getattr(args)
        if any(func is c for c in self._lazy):      # UninitializedParameter(requires_grad)
            if len(args) > 1 or (args and not isinstance(args[0], bool)):
                raise pickle.UnpicklingError(f"{func.__name__}() takes one bool argument")
            return func(*args)
        raise pickle.UnpicklingError(
            f"{_REFUSED_HEAD} Calling {_describe(func)} is not allowed (while loading "
            f"{self.source}); pickled modules are rebuilt with __new__ and __setstate__, "
            f"never by calling the class.")

    def _bad_getattr(self, args):
        target = type(args[0]).__name__ if args else "nothing"
        raise self.refuse("GLOBAL builtins.getattr", f"ember only allows getattr(module, "
                          f"'method') to re-bind a method of an nn.Module rebuilt from the "
                          f"same file; this file calls it on a {target}. ")

    def _bind_method(self, obj, name):
        from .nn.modules.module import Module
        if not isinstance(obj, Module) or type(name) is not str or name.startswith("__"):
            self._bad_getattr((obj, name))
        for klass in type(obj).__mro__:
            if name in vars(klass):
                attr = vars(klass)[name]
                if isinstance(attr, types.FunctionType):
                    return types.MethodType(attr, obj)
                break
        self._bad_getattr((obj, name))

    def new(self, cls, args, kwargs):
        from .nn.modules.module import Module
        if not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise pickle.UnpicklingError("NEWOBJ arguments must be a tuple and a dict")
        if id(cls) in self._user_ids:
            return cls.__new__(cls, *args, **kwargs)
        if isinstance(cls, type) and not self.weights_only and (
                issubclass(cls, Module) or any(cls is c for c in self._internal)):
            if args or kwargs:
                raise pickle.UnpicklingError(f"{_describe(cls)}.__new__ with arguments is not "
                                             f"allowed (while loading {self.source})")
            return cls.__new__(cls)
        raise pickle.UnpicklingError(f"{_REFUSED_HEAD} Creating {_describe(cls)} is not "
                                     f"allowed (while loading {self.source}).")

    def build(self, inst, state):
        from .nn.modules.module import Module
        if type(inst) in (OrderedDict, Counter):
            # torch's state dicts carry `_metadata` as an attribute of the OrderedDict
            if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
                raise pickle.UnpicklingError("OrderedDict state must be a dict of attributes")
            inst.__dict__.update(state)
        elif isinstance(inst, Module) or id(type(inst)) in self._user_ids or \
                any(type(inst) is c for c in self._internal):
            setstate = getattr(inst, "__setstate__", None)
            if setstate is not None:
                setstate(state)
            else:
                _default_build(inst, state)
        elif isinstance(inst, Tensor):
            _set_state(inst, state)
        elif type(inst) is np.ndarray:
            _build_ndarray(inst, state)
        elif type(inst) is np.dtype or isinstance(inst, np.dtype):
            _build_np_dtype(inst, state)
        else:
            raise pickle.UnpicklingError(f"{_REFUSED_HEAD} Setting the state of a "
                                         f"{type(inst).__name__} is not allowed (while loading "
                                         f"{self.source}).")

    def trusted(self, obj):
        return id(type(obj)) in self._user_ids


def _default_build(inst, state):
    slotstate = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
    if state:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("object state must be a dict")
        inst.__dict__.update(state)
    if slotstate:
        for k, v in slotstate.items():
            setattr(inst, k, v)


def _describe(obj):
    if isinstance(obj, type) or callable(obj):
        return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"
    return type(obj).__name__


# ---------------------------------------------------------------------------------------
# The restricted unpickler: an interpreter for pickle opcodes

_MARK = object()


class RestrictedUnpickler:
    """Reads one pickle from ``file``. Every opcode is interpreted here; those that would
    call or import something go through ``policy``; ``INST``, ``OBJ`` and the ``EXT`` codes
    (which only serve arbitrary objects) and out-of-band buffers are refused."""

    def __init__(self, file, policy, persistent_load=None, encoding="ASCII", errors="strict"):
        self.file = file
        self.policy = policy
        self.persistent_load = persistent_load
        self.encoding = encoding
        self.errors = errors

    def _read(self, n):
        data = self.file.read(n)
        if len(data) != n:
            raise pickle.UnpicklingError("pickle data was truncated")
        return data

    def _readline(self):
        line = self.file.readline()
        if not line.endswith(b"\n"):
            raise pickle.UnpicklingError("pickle data was truncated")
        return line[:-1]

    def _pop_mark(self):
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def load(self):
        self.stack = []
        self.metastack = []
        self.memo = {}
        dispatch = self._dispatch
        read = self.file.read
        while True:
            key = read(1)
            if not key:
                raise pickle.UnpicklingError("pickle data was truncated")
            op = dispatch.get(key[0])
            if op is None:
                raise pickle.UnpicklingError(f"unsupported or invalid pickle opcode {key!r}")
            if op is _stop:
                if len(self.stack) != 1 or self.metastack:
                    raise pickle.UnpicklingError("malformed pickle: unbalanced stack at STOP")
                return self.stack[0]
            op(self)

    # opcode handlers are bound in the table below
    def _decode_str(self, data):
        if self.encoding == "bytes":
            return data
        return data.decode(self.encoding, self.errors)


def _stop(u):
    pass


def _push(value):
    return lambda u: u.stack.append(value)


def _proto(u):
    p = u._read(1)[0]
    if p > 5:
        raise pickle.UnpicklingError(f"unsupported pickle protocol: {p}")


def _frame(u):
    u._read(8)                       # frames only group opcodes; nothing to do


def _mark(u):
    u.metastack.append(u.stack)
    u.stack = []


def _pop(u):
    if u.stack:
        u.stack.pop()
    else:
        u._pop_mark()


def _dup(u):
    u.stack.append(u.stack[-1])


def _put(u, idx):
    if idx < 0:
        raise pickle.UnpicklingError("negative PUT argument")
    u.memo[idx] = u.stack[-1]


def _get(u, idx):
    try:
        u.stack.append(u.memo[idx])
    except KeyError:
        raise pickle.UnpicklingError(f"memo key {idx} not found") from None


def _int_line(u):
    data = u._readline()
    if data == b"00":
        u.stack.append(False)
    elif data == b"01":
        u.stack.append(True)
    else:
        u.stack.append(int(data))


def _long_line(u):
    data = u._readline()
    if data.endswith(b"L"):
        data = data[:-1]
    u.stack.append(int(data))


def _long_n(size_fmt):
    size_len = struct.calcsize(size_fmt)

    def op(u):
        n = struct.unpack(size_fmt, u._read(size_len))[0]
        if n < 0:
            raise pickle.UnpicklingError("LONG pickle has negative byte count")
        u.stack.append(int.from_bytes(u._read(n), "little", signed=True))
    return op


def _binstr(size_fmt, kind):
    size_len = struct.calcsize(size_fmt)

    def op(u):
        n = struct.unpack(size_fmt, u._read(size_len))[0]
        if n < 0:
            raise pickle.UnpicklingError("negative byte count")
        data = u._read(n)
        if kind == "unicode":
            u.stack.append(str(data, "utf-8", "surrogatepass"))
        elif kind == "bytes":
            u.stack.append(data)
        elif kind == "bytearray":
            u.stack.append(bytearray(data))
        else:                        # python 2 str
            u.stack.append(u._decode_str(data))
    return op


def _string_line(u):
    data = u._readline()
    if len(data) < 2 or data[0] != data[-1] or data[:1] not in (b'"', b"'"):
        raise pickle.UnpicklingError("the STRING opcode argument must be quoted")
    u.stack.append(u._decode_str(codecs.escape_decode(data[1:-1])[0]))


def _unicode_line(u):
    u.stack.append(str(u._readline(), "raw-unicode-escape"))


def _float_line(u):
    u.stack.append(float(u._readline()))


def _binfloat(u):
    u.stack.append(struct.unpack(">d", u._read(8))[0])


def _empty(factory):
    return lambda u: u.stack.append(factory())


def _append(u):
    value = u.stack.pop()
    _extend(u, u.stack[-1], [value])


def _appends(u):
    items = u._pop_mark()
    _extend(u, u.stack[-1], items)


def _extend(u, target, items):
    if type(target) is list:
        target.extend(items)
    elif u.policy.trusted(target):
        extend = getattr(target, "extend", None)
        if extend is not None:
            extend(items)
        else:
            for x in items:
                target.append(x)
    else:
        raise pickle.UnpicklingError(f"APPEND to a {type(target).__name__} is not allowed")


def _list(u):
    items = u._pop_mark()              # (before touching u.stack: popping the mark swaps it)
    u.stack.append(list(items))


def _tuple(u):
    items = u._pop_mark()
    u.stack.append(tuple(items))


def _tuple_n(n):
    def op(u):
        if len(u.stack) < n:
            raise pickle.UnpicklingError("stack underflow")
        items = tuple(u.stack[-n:])
        del u.stack[-n:]
        u.stack.append(items)
    return op


def _dict(u):
    items = u._pop_mark()
    if len(items) % 2:
        raise pickle.UnpicklingError("odd number of items for DICT")
    u.stack.append({items[i]: items[i + 1] for i in range(0, len(items), 2)})


def _setitems_into(u, target, items):
    if not (isinstance(target, dict) and (type(target) in (dict, OrderedDict, Counter) or
                                          u.policy.trusted(target))):
        raise pickle.UnpicklingError(f"SETITEM on a {type(target).__name__} is not allowed")
    for i in range(0, len(items), 2):
        target[items[i]] = items[i + 1]


def _setitem(u):
    value = u.stack.pop()
    key = u.stack.pop()
    _setitems_into(u, u.stack[-1], [key, value])


def _setitems(u):
    items = u._pop_mark()
    if len(items) % 2:
        raise pickle.UnpicklingError("odd number of items for SETITEMS")
    _setitems_into(u, u.stack[-1], items)


def _additems(u):
    items = u._pop_mark()
    target = u.stack[-1]
    if type(target) is set:
        target.update(items)
    elif u.policy.trusted(target):
        for x in items:
            target.add(x)
    else:
        raise pickle.UnpicklingError(f"ADDITEMS on a {type(target).__name__} is not allowed")


def _frozenset(u):
    items = u._pop_mark()
    u.stack.append(frozenset(items))


def _global(u):
    module = u._readline().decode("utf-8")
    name = u._readline().decode("utf-8")
    u.stack.append(u.policy.find(module, name))


def _stack_global(u):
    name = u.stack.pop()
    module = u.stack.pop()
    if type(name) is not str or type(module) is not str:
        raise pickle.UnpicklingError("STACK_GLOBAL requires str")
    u.stack.append(u.policy.find(module, name))


def _reduce(u):
    args = u.stack.pop()
    u.stack[-1] = u.policy.call(u.stack[-1], args)


def _newobj(u):
    args = u.stack.pop()
    cls = u.stack.pop()
    u.stack.append(u.policy.new(cls, args, {}))


def _newobj_ex(u):
    kwargs = u.stack.pop()
    args = u.stack.pop()
    cls = u.stack.pop()
    u.stack.append(u.policy.new(cls, args, kwargs))


def _build(u):
    state = u.stack.pop()
    u.policy.build(u.stack[-1], state)


def _persid(u):
    if u.persistent_load is None:
        raise pickle.UnpicklingError("A load persistent id instruction was encountered, but "
                                     "no persistent_load function was specified.")
    try:
        pid = u._readline().decode("ascii")
    except UnicodeDecodeError:
        raise pickle.UnpicklingError("persistent IDs in protocol 0 must be ASCII strings")
    u.stack.append(u.persistent_load(pid))


def _binpersid(u):
    if u.persistent_load is None:
        raise pickle.UnpicklingError("A load persistent id instruction was encountered, but "
                                     "no persistent_load function was specified.")
    pid = u.stack.pop()
    u.stack.append(u.persistent_load(pid))


def _memo_op(fmt, getter):
    size = struct.calcsize(fmt)
    return lambda u: getter(u, struct.unpack(fmt, u._read(size))[0])


def _memo_line(getter):
    return lambda u: getter(u, int(u._readline()))


def _fixed_int(fmt):
    size = struct.calcsize(fmt)
    return lambda u: u.stack.append(struct.unpack(fmt, u._read(size))[0])


def _memoize(u):
    u.memo[len(u.memo)] = u.stack[-1]


def _pop_mark_op(u):
    u._pop_mark()


_P = pickle
RestrictedUnpickler._dispatch = {op[0]: fn for op, fn in {
    _P.PROTO: _proto, _P.FRAME: _frame, _P.STOP: _stop, _P.MARK: _mark, _P.POP: _pop,
    _P.POP_MARK: _pop_mark_op, _P.DUP: _dup,
    _P.PUT: _memo_line(_put), _P.BINPUT: _memo_op("<B", _put),
    _P.LONG_BINPUT: _memo_op("<I", _put), _P.MEMOIZE: _memoize,
    _P.GET: _memo_line(_get), _P.BINGET: _memo_op("<B", _get),
    _P.LONG_BINGET: _memo_op("<I", _get),
    _P.NONE: _push(None), _P.NEWTRUE: _push(True), _P.NEWFALSE: _push(False),
    _P.INT: _int_line, _P.BININT: _fixed_int("<i"), _P.BININT1: _fixed_int("<B"),
    _P.BININT2: _fixed_int("<H"), _P.LONG: _long_line, _P.LONG1: _long_n("<B"),
    _P.LONG4: _long_n("<i"), _P.FLOAT: _float_line, _P.BINFLOAT: _binfloat,
    _P.STRING: _string_line, _P.BINSTRING: _binstr("<i", "str"),
    _P.SHORT_BINSTRING: _binstr("<B", "str"), _P.UNICODE: _unicode_line,
    _P.BINUNICODE: _binstr("<I", "unicode"), _P.SHORT_BINUNICODE: _binstr("<B", "unicode"),
    _P.BINUNICODE8: _binstr("<Q", "unicode"), _P.BINBYTES: _binstr("<I", "bytes"),
    _P.SHORT_BINBYTES: _binstr("<B", "bytes"), _P.BINBYTES8: _binstr("<Q", "bytes"),
    _P.BYTEARRAY8: _binstr("<Q", "bytearray"),
    _P.EMPTY_LIST: _empty(list), _P.APPEND: _append, _P.APPENDS: _appends, _P.LIST: _list,
    _P.EMPTY_TUPLE: _push(()), _P.TUPLE: _tuple, _P.TUPLE1: _tuple_n(1),
    _P.TUPLE2: _tuple_n(2), _P.TUPLE3: _tuple_n(3),
    _P.EMPTY_DICT: _empty(dict), _P.DICT: _dict, _P.SETITEM: _setitem,
    _P.SETITEMS: _setitems, _P.EMPTY_SET: _empty(set), _P.ADDITEMS: _additems,
    _P.FROZENSET: _frozenset,
    _P.GLOBAL: _global, _P.STACK_GLOBAL: _stack_global, _P.REDUCE: _reduce,
    _P.NEWOBJ: _newobj, _P.NEWOBJ_EX: _newobj_ex, _P.BUILD: _build,
    _P.PERSID: _persid, _P.BINPERSID: _binpersid,
}.items()}


def unsafe_globals(file, policy: LoadPolicy, count=1) -> list:
    """The globals that the next ``count`` pickles in ``file`` name and ``policy`` would
    refuse, found by scanning opcodes (nothing is run). ``STACK_GLOBAL`` names are followed
    through the memo."""
    import pickletools
    names = []
    for _ in range(count):
        recent, memo = [], {}
        for op, arg, _pos in pickletools.genops(file):       # stops after STOP
            name = op.name
            if name == "GLOBAL":
                names.append(tuple(arg.split(" ", 1)))
            elif name == "STACK_GLOBAL":
                if len(recent) >= 2 and isinstance(recent[-1], str) and \
                        isinstance(recent[-2], str):
                    names.append((recent[-2], recent[-1]))
                else:
                    names.append(("<unknown>", "<unknown>"))
            if name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                idx = len(memo) if name == "MEMOIZE" else arg
                memo[idx] = recent[-1] if recent else None
                continue
            if name in ("GET", "BINGET", "LONG_BINGET"):
                recent.append(memo.get(arg))
            elif isinstance(arg, str) and "UNICODE" in name:
                recent.append(arg)
            else:
                recent.append(None)
            del recent[:-2]
    refused = []
    for module, name in names:
        try:
            policy.find(module, name)
        except pickle.UnpicklingError:
            refused.append(f"{module}.{name}")
    return sorted(set(refused))


# ---------------------------------------------------------------------------------------
# Saving: storages and the torch-compatible pickler


class StorageRef:
    """A storage to be written as ``data/<key>``; pickled as torch's persistent id."""

    __slots__ = ("dtype_name", "flat", "key")

    def __init__(self, key, flat):
        self.key = key
        self.flat = flat                   # 1-D array over the storage, in memory order
        self.dtype_name = _dtype.NP_TO_DTYPE[flat.dtype].name \
            if flat.dtype in _dtype.NP_TO_DTYPE else None

    @property
    def numel(self):
        return int(self.flat.size)

    def little_endian_bytes(self) -> np.ndarray:
        flat = self.flat
        if flat.dtype.byteorder == ">" or (flat.dtype.byteorder == "=" and
                                           sys.byteorder == "big" and flat.itemsize > 1):
            flat = flat.astype(flat.dtype.newbyteorder("<"))
        return flat.view(np.uint8) if flat.size else np.empty(0, np.uint8)


class StorageTable:
    """Assigns storage keys while saving: arrays viewing the same memory get the same
    storage, so views (and the same tensor saved twice) share it after loading."""

    def __init__(self):
        self.refs = []
        self._by_root = {}                 # id(root array) -> StorageRef
        self._keep = []                    # keeps roots alive so ids stay unique

    def _new(self, flat, key_obj):
        ref = StorageRef(str(len(self.refs)), flat)
        self.refs.append(ref)
        if key_obj is not None:
            self._by_root[id(key_obj)] = ref
            self._keep.append(key_obj)
        return ref

    def locate(self, arr: np.ndarray):
        """``(storage, offset, strides)`` in elements for ``arr``."""
        item = arr.itemsize
        if arr.size == 0:
            ref = self._new(np.empty(0, arr.dtype), None)
            return ref, 0, _contiguous_strides(arr.shape)
        root = _root_array(arr)
        ptr = arr.__array_interface__["data"][0]
        if root.dtype == arr.dtype and (root.flags.c_contiguous or root.flags.f_contiguous):
            base = root.__array_interface__["data"][0]
            delta = ptr - base
            if delta % item == 0 and all(s >= 0 and s % item == 0 for s in arr.strides):
                ref = self._by_root.get(id(root))
                if ref is None:
                    ref = self._new(root.ravel(order="K"), root)
                return ref, delta // item, tuple(s // item for s in arr.strides)
        # memory we cannot describe as (storage, offset, strides): a view with negative
        # strides, or of another dtype. Save a compact copy (it no longer aliases).
        if arr.flags.c_contiguous:
            ref = self._by_root.get(id(arr)) or self._new(arr.reshape(-1), arr)
        else:
            ref = self._new(np.ascontiguousarray(arr).reshape(-1), None)
        return ref, 0, _contiguous_strides(arr.shape)


def _contiguous_strides(shape):
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


class GlobalName:
    """A global written by name (``torch._utils._rebuild_tensor_v2``) without importing it."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):             # pickle insists a reduce callable be callable
        raise TypeError(f"{self.module}.{self.name} is a name written into a pickle")


class _Reduced:
    """An object standing for a precomputed reduce tuple (the tensor inside a Parameter)."""

    __slots__ = ("rv",)

    def __init__(self, rv):
        self.rv = rv


class TorchPickler(pickle._Pickler):
    """Writes ``data.pkl`` as ``torch.save`` does: ember tensors become
    ``torch._utils._rebuild_tensor_v2`` calls on storages named by persistent ids, Parameters
    ``torch._utils._rebuild_parameter``, dtypes ``torch.float32``..., ``Size`` and ``device``
    ``torch.Size``/``torch.device``. The pure-Python pickler is used because only it lets a
    subclass write a global it cannot import (``torch.*``)."""

    def __init__(self, file, table, protocol=2):
        super().__init__(file, protocol)
        self.table = table
        self._names = {}

    def g(self, module, name):
        key = (module, name)
        ref = self._names.get(key)
        if ref is None:
            ref = self._names[key] = GlobalName(module, name)
        return ref

    def persistent_id(self, obj):
        if type(obj) is StorageRef:
            if obj.dtype_name is None:
                raise pickle.PicklingError(f"cannot save arrays of dtype {obj.flat.dtype}")
            return ("storage", self.g("torch", _STORAGE_OF_DTYPE[obj.dtype_name]), obj.key,
                    "cpu", obj.numel)
        return None

    def reducer_override(self, obj):
        t = type(obj)
        if t is GlobalName or t is _dtype.dtype:
            return "global"                # -> save_global below
        if t is _Reduced:
            return obj.rv
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if t is Size:
            return (self.g("torch", "Size"), (tuple(obj),))
        if t is _device_cls:
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            return (self.g("torch", "device"), args)
        return NotImplemented

    def _reduce_tensor(self, t):
        from .nn.parameter import Parameter, is_lazy
        if is_lazy(t):
            return NotImplemented          # UninitializedParameter pickles itself
        arr = t._data
        if arr.dtype not in _dtype.NP_TO_DTYPE:
            raise pickle.PicklingError(f"cannot save a tensor of NumPy dtype {arr.dtype}")
        ref, offset, strides = self.table.locate(arr)
        is_param = type(t) is Parameter
        args = (ref, offset, tuple(arr.shape), strides,
                False if is_param else bool(t._requires_grad), OrderedDict())
        rebuild = self.g("torch._utils", "_rebuild_tensor_v2")
        if is_param:
            return (self.g("torch._utils", "_rebuild_parameter"),
                    (_Reduced((rebuild, args)), bool(t._requires_grad), OrderedDict()))
        if type(t) is Tensor:
            return (rebuild, args)
        return (self.g("torch._tensor", "_rebuild_from_type_v2"),
                (rebuild, type(t), args, {}))

    def save_global(self, obj, name=None):
        t = type(obj)
        if t is GlobalName:
            module, name = obj.module, obj.name
        elif t is _dtype.dtype:
            module, name = "torch", obj.name
        else:
            qual = getattr(obj, "__qualname__", None)
            if not (isinstance(obj, type) and qual and "." in qual and "<locals>" not in qual):
                return super().save_global(obj, name)
            module, name = obj.__module__, qual     # a nested class: write the dotted name
        self.write(pickle.GLOBAL + module.encode("utf-8") + b"\n" + name.encode("utf-8") +
                   b"\n")
        self.memoize(obj)


def dumps(obj, table, protocol=2) -> bytes:
    buf = io.BytesIO()
    TorchPickler(buf, table, protocol).dump(obj)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------
# The zip container


def _write_data(stream, data) -> None:
    """Write one record's bytes (a seam: tests slow this down to kill a save midway)."""
    mv = memoryview(data).cast("B")
    for start in range(0, len(mv), _CHUNK):
        stream.write(mv[start:start + _CHUNK])


def write_archive(fileobj, records) -> None:
    """Write ``records`` (``(name, bytes or uint8 array)``) as a zip under ``archive/``, each
    record's data starting on a 64-byte boundary (an extra field pads the local header)."""
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as zf:
        for name, data in records:
            full = f"{ARCHIVE}/{name}"
            size = memoryview(data).nbytes
            zip64 = size * 1.05 > zipfile.ZIP64_LIMIT
            info = zipfile.ZipInfo(full, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = size
            start = zf.fp.tell()
            fixed = start + 30 + len(full.encode("utf-8")) + 4 + (20 if zip64 else 0)
            pad = (-fixed) % ALIGNMENT
            info.extra = struct.pack("<HH", 0x4D45, pad) + b"\0" * pad   # id 'EM'
            with zf.open(info, mode="w", force_zip64=zip64) as w:
                _write_data(w, data)


class ZipReader:
    """Reads records of a checkpoint zip, naming the file in every error."""

    def __init__(self, fileobj, source, path=None):
        self.f = fileobj
        self.source = source
        self.path = path                   # set when storages may be memory-mapped
        try:
            self.zf = zipfile.ZipFile(fileobj)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise RuntimeError(f"PytorchStreamReader failed reading zip archive: failed "
                               f"finding central directory: {source} is truncated or is not "
                               f"a checkpoint ({e})") from None
        self.infos = {i.filename: i for i in self.zf.infolist()}
        pkls = [n for n in self.infos if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pkls:
            if any(n.endswith("constants.pkl") for n in self.infos):
                raise RuntimeError(f"{source} is a TorchScript archive (torch.jit.save); "
                                   f"ember.load cannot read it")
            raise RuntimeError(f"{source} is a zip file but not a checkpoint: it has no "
                               f"'<archive>/data.pkl' record")
        self.prefix = pkls[0][:-len("data.pkl")]

    def has(self, name):
        return self.prefix + name in self.infos

    def read(self, name) -> bytes:
        full = self.prefix + name
        if full not in self.infos:
            raise RuntimeError(f"{self.source} is corrupted: record '{full}' is missing")
        try:
            return self.zf.read(full)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
            raise RuntimeError(f"{self.source} is corrupted: failed reading record "
                               f"'{full}' ({e})") from None

    def read_array(self, name) -> np.ndarray:
        """A record as a 1-D uint8 array: read straight into place (CRC checked), or
        memory-mapped copy-on-write when ``path`` was given."""
        full = self.prefix + name
        info = self.infos.get(full)
        if info is None:
            raise RuntimeError(f"{self.source} is corrupted: record '{full}' is missing")
        if info.compress_type != zipfile.ZIP_STORED:
            return np.frombuffer(bytearray(self.read(name)), dtype=np.uint8)
        size = info.file_size
        try:
            self.f.seek(info.header_offset)
            header = self.f.read(30)
            if len(header) != 30 or header[:4] != b"PK\x03\x04":
                raise ValueError("bad local file header")
            n, e = struct.unpack("<HH", header[26:30])
            start = info.header_offset + 30 + n + e
            if self.path is not None and size:
                return np.memmap(self.path, dtype=np.uint8, mode="c", offset=start,
                                 shape=(size,))
            out = np.empty(size, dtype=np.uint8)
            self.f.seek(start)
            got = _readinto(self.f, memoryview(out))
            if got != size:
                raise ValueError(f"expected {size} bytes, got {got}")
        except (ValueError, OSError) as err:
            raise RuntimeError(f"{self.source} is truncated or corrupted: failed reading "
                               f"record '{full}' ({err})") from None
        if zlib.crc32(out) != info.CRC:
            raise RuntimeError(f"{self.source} is corrupted: CRC-32 mismatch in record "
                               f"'{full}'")
        return out


def _readinto(f, mv) -> int:
    total = 0
    readinto = getattr(f, "readinto", None)
    while total < len(mv):
        if readinto is not None:
            n = readinto(mv[total:])
        else:
            chunk = f.read(len(mv) - total)
            n = len(chunk)
            mv[total:total + n] = chunk
        if not n:
            break
        total += n
    return total


class StorageLoader:
    """Loads each storage of an archive once (applying ``map_location``) and hands out
    typed views of it."""

    def __init__(self, reader, restore, byteorder="little"):
        self.reader = reader
        self.restore = restore
        self.byteorder = byteorder
        self.cache = {}
        self._warned = False

    def warn_bfloat16(self):
        if not self._warned:
            self._warned = True
            warnings.warn("bfloat16 tensors in this checkpoint were loaded as float32: ember "
                          "needs the optional ml_dtypes package for bfloat16", stacklevel=4)

    def get(self, key, location="cpu") -> LoadedStorage:
        st = self.cache.get(key)
        if st is None:
            if not isinstance(key, str):
                raise TypeError(f"storage key must be a str, got {type(key).__name__}")
            st = LoadedStorage(self.reader.read_array(f"data/{key}"), key, self.byteorder)
            st._warn = self.warn_bfloat16
            st = self.restore(st, location)
            self.cache[key] = st
        return st

    def persistent_load(self, pid):
        return typed_storage_from_pid(pid, self.get)


def typed_storage_from_pid(pid, get):
    if not (isinstance(pid, tuple) and pid and pid[0] == "storage" and len(pid) in (5, 6)):
        raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
    storage_type, key, location = pid[1], pid[2], pid[3]
    if isinstance(location, bytes):
        location = location.decode("ascii")
    if not isinstance(location, str):
        raise TypeError("storage location must be a str")
    if isinstance(storage_type, StorageType):
        dt = storage_type.dtype
    elif storage_type is _UNTYPED:
        dt = None
    elif isinstance(storage_type, UnsupportedDtype):
        dt = storage_type
    else:
        raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
    return TypedStorage(get(key, location), dt)


# ---------------------------------------------------------------------------------------
# The legacy (non-zip) format


def load_legacy(f, source, policy, restore, encoding="ASCII", errors="strict"):
    """Read torch's pre-1.6 format: pickled magic number, protocol version and system info,
    the object pickle, the pickled list of storage keys, then each storage as an int64
    element count and its raw bytes."""
    def small():
        return RestrictedUnpickler(f, policy, encoding=encoding, errors=errors).load()

    if small() != LEGACY_MAGIC:
        raise RuntimeError(f"Invalid magic number; {source} is corrupt or not a checkpoint")
    if small() != LEGACY_PROTOCOL:
        raise RuntimeError(f"Invalid protocol version in {source}")
    sys_info = small()
    byteorder = "little"
    if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
        byteorder = "big"
    roots = {}                             # root key -> (LoadedStorage, dtype)
    views = {}
    warned = []

    def warn():
        if not warned:
            warned.append(1)
            warnings.warn("bfloat16 tensors in this checkpoint were loaded as float32: ember "
                          "needs the optional ml_dtypes package for bfloat16", stacklevel=4)

    def persistent_load(pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, location, numel, view = pid
        if not isinstance(storage_type, (StorageType, UnsupportedDtype)):
            raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
        if isinstance(storage_type, UnsupportedDtype):
            _storage_array(TypedStorage(None, storage_type), None)     # raises
        dt = storage_type.dtype
        if key not in roots:
            numel = _int(numel, "numel")
            st = LoadedStorage(np.empty(numel * dt.itemsize, dtype=np.uint8), key, byteorder)
            st._filled = False
            st._warn = warn
            st = restore(st, location if isinstance(location, str) else "cpu")
            roots[key] = (st, dt)
        st = roots[key][0]
        if view is not None:
            view_key, offset, size = view
            st = views.setdefault(view_key, StorageSlice(st, _int(offset, "offset"),
                                                         _int(size, "size")))
        return TypedStorage(st, dt)

    result = RestrictedUnpickler(f, policy, persistent_load, encoding, errors).load()
    keys = small()
    if not isinstance(keys, list):
        raise pickle.UnpicklingError("the storage key list is malformed")
    for key in keys:
        if key not in roots:
            raise RuntimeError(f"{source} is corrupted: storage {key!r} is not referenced")
        st, dt = roots[key]
        header = f.read(8)
        if len(header) != 8:
            raise RuntimeError(f"{source} is truncated: storage {key!r} is missing")
        numel = struct.unpack("<q" if byteorder == "little" else ">q", header)[0]
        if numel * dt.itemsize != st._raw.nbytes:
            raise RuntimeError(f"{source} is corrupted: storage {key!r} has {numel} elements, "
                               f"expected {st._raw.nbytes // dt.itemsize}")
        if _readinto(f, memoryview(st._raw)) != st._raw.nbytes:
            raise RuntimeError(f"{source} is truncated: storage {key!r} is incomplete")
        st._fill_done()
    return result
