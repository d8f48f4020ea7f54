"""Tensor: a NumPy array plus what autograd needs to know about it.

The array (``_data``) holds the values; a view's array is a NumPy view of its base's, so
writes through either are seen by both. Autograd state is the ``requires_grad`` flag, the
``grad_fn`` node that produced the tensor (None for leaves), ``.grad`` for leaves, and a
version counter shared with every view of the same memory, bumped by each in-place write.

Operations live in ``ember/ops``; the methods here that do math only forward to them.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import _dtype
from ._dtype import NP_TO_DTYPE, as_dtype
from ._device import CPU, device as _device_cls, check_device
from ._size import Size
from .autograd.grad_mode import STATE

__all__ = ["Tensor"]

_new = object.__new__
_tuple_new = tuple.__new__
_ARRAY = np.ndarray


def _wrap(arr, cls=None) -> "Tensor":
    """A new leaf Tensor around ``arr`` (an ndarray, not copied). The hot path of every op."""
    t = _new(cls or Tensor)
    t._data = arr
    t._requires_grad = False
    t.grad_fn = None
    t._vc = [0]
    t._base = None
    return t


def _make_result(arr, node, output_nr) -> "Tensor":
    """A non-leaf Tensor produced by ``node``."""
    t = _new(Tensor)
    t._data = arr
    t._requires_grad = True
    t.grad_fn = node
    t._vc = [0]
    t._base = None
    if output_nr:
        t._output_nr = output_nr
    return t


class Tensor:
    """A multi-dimensional array with autograd, PyTorch's ``torch.Tensor``.

    ``ember.Tensor(data)`` is the legacy constructor: it always makes a tensor of the default
    float dtype (``ember.Tensor([1, 2])`` is float32), and ``ember.Tensor(2, 3)`` an
    uninitialised 2x3 one. Prefer ``ember.tensor(data)``, which infers the dtype.
    """

    # The fields every tensor sets are slots; the rarely-set ones default at class level and
    # live in the instance __dict__ once set, which keeps creating a tensor cheap.
    __slots__ = ("_data", "_requires_grad", "grad_fn", "_vc", "_base", "__weakref__",
                 "__dict__")
    _grad = None                  # .grad of a leaf
    _output_nr = 0                # which output of grad_fn this tensor is
    _view_fn = None               # base -> this view, replayed for in-place ops on views
    _accumulator = None           # weakref to the leaf's AccumulateGrad node
    _hooks = None                 # leaf gradient hooks
    _retains_grad = False
    _inference = False            # made under inference_mode
    _post_accumulate_hooks = None

    def __new__(cls, *args, **kwargs):
        return _new(cls)

    def __init__(self, *args, device=None):
        check_device(device)
        dt = _dtype.get_default_dtype()
        if not args:
            arr = np.empty((0,), dtype=_dtype.to_np(dt))
        elif len(args) == 1 and isinstance(args[0], Tensor):
            src = args[0]                  # an alias, as torch.Tensor(t) is
            self._data = src._data
            self._requires_grad = src._requires_grad
            self.grad_fn = None
            self._vc = src._vc
            self._base = None
            return
        elif len(args) == 1 and isinstance(args[0], Size):
            arr = np.empty(_checked_shape(args[0]), dtype=_dtype.to_np(dt))
        elif all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            arr = np.empty(_checked_shape(args), dtype=_dtype.to_np(dt))
        elif len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray)):
            from .ops.creation import _array_from_data
            arr = np.array(_array_from_data(args[0], dt), dtype=_dtype.to_np(dt))
        elif len(args) == 1:
            raise TypeError(f"new(): data must be a sequence (got {type(args[0]).__name__})")
        else:
            raise TypeError(f"new() received an invalid combination of arguments - got "
                            f"({', '.join(type(a).__name__ for a in args)})")
        self._data = arr
        self._requires_grad = False
        self.grad_fn = None
        self._vc = [0]
        self._base = None

    # ------------------------------------------------------------------ basic attributes
    @property
    def shape(self) -> Size:
        return _tuple_new(Size, self._data.shape)

    def size(self, dim=None):
        """The shape as an ``ember.Size``, or the length of dimension ``dim``."""
        if dim is None:
            return Size(self._data.shape)
        if self._data.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self) -> _dtype.dtype:
        return NP_TO_DTYPE[self._data.dtype]

    @property
    def device(self) -> _device_cls:
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def is_cpu(self) -> bool:
        return True

    @property
    def layout(self):
        return "strided"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f" or self.dtype is _dtype.bfloat16

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    def is_inference(self) -> bool:
        return self._inference

    def stride(self, dim=None):
        """Strides in elements, as PyTorch reports them."""
        item = self._data.itemsize
        strides = tuple(s // item for s in self._data.strides)
        if dim is None:
            return strides
        if self._data.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return strides[_wrap_dim(dim, self._data.ndim, "stride")]

    def storage_offset(self) -> int:
        base = _root_array(self._data)
        return (self.data_ptr() - base.__array_interface__["data"][0]) // self._data.itemsize

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def untyped_storage(self):
        return _Storage(_root_array(self._data))

    def get_device(self) -> int:
        """-1: the tensor is on the CPU."""
        return -1

    def is_contiguous(self, memory_format=None) -> bool:
        return self._data.flags.c_contiguous

    def is_set_to(self, other) -> bool:
        return (self._data.__array_interface__ == other._data.__array_interface__)

    @property
    def _version(self) -> int:
        return self._vc[0]

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _is_view(self):
        return self._base is not None

    def _is_view_fn(self):
        return self._base is not None

    # ------------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set whether autograd records operations on this (leaf) tensor; returns self."""
        requires_grad = bool(requires_grad)
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               f"gradients (got {self.dtype})")
        if requires_grad and self._inference and not STATE.inference:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside "
                               "InferenceMode is not allowed.")
        self._requires_grad = requires_grad
        return self

    @property
    def grad(self):
        if self.grad_fn is not None and not self._retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
                "Its .grad attribute won't be populated during autograd.backward(). If you "
                "indeed want the .grad field to be populated for a non-leaf Tensor, use "
                ".retain_grad() on the non-leaf Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"assigned grad has data of a different size: grad shape "
                                   f"{list(value.shape)} vs tensor shape {list(self.shape)}")
            if value.dtype is not self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: "
                                   f"{value.dtype} vs {self.dtype}")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def data(self) -> "Tensor":
        """The same values as a tensor outside the graph (no version tracking: prefer
        ``detach()``)."""
        t = _wrap(self._data)
        return t

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    def detach(self) -> "Tensor":
        """A tensor sharing this one's memory (and version counter), outside the graph."""
        t = _wrap(self._data)
        t._vc = self._vc
        t._inference = self._inference
        return t

    def detach_(self) -> "Tensor":
        """Make this tensor a leaf that does not require grad, in place."""
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        import weakref
        ref = weakref.ref(self)

        def keep(grad):
            t = ref()
            if t is None:
                return
            if t._grad is None:
                # a copy: the engine may hand the same gradient on to other nodes; under
                # create_graph the copy stays in the graph (CloneBackward0), as in PyTorch
                t._grad = grad.clone() if grad._requires_grad else _wrap(grad._data.copy())
            else:
                t._grad = t._grad + grad
        keep._retains_grad_hook = True
        self.grad_fn._add_tensor_pre_hook(self._output_nr, keep)
        self._retains_grad = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self.grad_fn is not None:
            return self.grad_fn._add_tensor_pre_hook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = {}
        key = object()
        self._hooks[key] = hook
        return _DictHandle(self._hooks, key)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after the gradient has been accumulated into ``.grad``."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = []
        self._post_accumulate_hooks.append(hook)
        from .autograd.graph import _RemovableHandle
        return _RemovableHandle(self._post_accumulate_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient`` is required unless the tensor has one element (then it defaults to 1).
        """
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ------------------------------------------------------------------ conversions
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The values as a NumPy array sharing this tensor's memory."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        _trace_check("numpy", self)
        return self._data.copy() if force and self._requires_grad else self._data

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        _trace_check("array", self)
        arr = self._data
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        return arr.copy() if copy else arr

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        _trace_check("item", self)
        return self._data.reshape(()).item()

    def tolist(self):
        _trace_check("tolist", self)
        return self._data.tolist()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous"
                               if self._data.size else
                               "Boolean value of Tensor with no values is ambiguous")
        _trace_check("bool", self)
        return bool(self._data.reshape(()))

    def _scalar(self, kind):
        """The value of a one-element tensor for float()/int()/complex()."""
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if self._requires_grad:
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                          "unexpected behavior. Consider using tensor.detach() first.",
                          UserWarning, stacklevel=3)
        _trace_check(kind.__name__, self)
        value = self._data.reshape(()).item()
        if kind is not complex and isinstance(value, complex):
            ctype = "double" if kind is float else "int64_t"
            raise RuntimeError(f"value cannot be converted to type {ctype} without overflow")
        return kind(value)

    def __float__(self):
        return self._scalar(float)

    def __int__(self):
        return self._scalar(int)

    def __complex__(self):
        return self._scalar(complex)

    def __index__(self):
        if self._data.size != 1 or self._data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        _trace_check("index", self)
        return int(self._data.reshape(()))

    def __hash__(self):
        return id(self)

    def __contains__(self, element):
        if isinstance(element, (Tensor, int, float, bool)):
            return bool((self == element).any())
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you "
                           f"passed in a {type(element).__name__}.")

    def __reduce_ex__(self, protocol):
        # pickling (DataLoader workers, copy.deepcopy, ember.save) keeps values, dtype and
        # requires_grad; the graph is not pickled, as in PyTorch.
        return (_rebuild_tensor, (self._data, self._requires_grad, self.__class__))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        if id(self) in memo:
            return memo[id(self)]
        new = _rebuild_tensor(self._data.copy(), self._requires_grad, self.__class__)
        if self._grad is not None:
            new._grad = _wrap(self._grad._data.copy())
        new.__dict__.update({k: v for k, v in self.__dict__.items()})
        memo[id(self)] = new
        return new

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """With no argument, the type name (``'ember.FloatTensor'``); with a dtype or type
        name, a converted tensor."""
        if dtype is None:
            return "ember." + self.dtype._legacy
        if isinstance(dtype, str):
            name = dtype.split(".")[-1]
            for d in _dtype._ALL:
                if d._legacy == name:
                    return self.to(d)
            raise ValueError(f"invalid type: '{dtype}'")
        return self.to(dtype)

    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``;
        returns self when nothing changes (unless ``copy=True``)."""
        dt, copy = None, kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, Tensor):
                dt = a.dtype
            elif isinstance(a, _dtype.dtype) or a in (float, int, bool, complex):
                dt = as_dtype(a)
            elif a is None:
                continue
            else:
                check_device(a)
        if dt is None or dt is self.dtype:
            return self.clone() if copy else self
        from .ops.elementwise import _cast
        return _cast(self, dt)

    def cpu(self, memory_format=None) -> "Tensor":
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        check_device("cuda")

    def float(self):
        return self.to(_dtype.float32)

    def double(self):
        return self.to(_dtype.float64)

    def half(self):
        return self.to(_dtype.float16)

    def bfloat16(self):
        return self.to(_dtype.bfloat16)

    def long(self):
        return self.to(_dtype.int64)

    def int(self):
        return self.to(_dtype.int32)

    def short(self):
        return self.to(_dtype.int16)

    def char(self):
        return self.to(_dtype.int8)

    def byte(self):
        return self.to(_dtype.uint8)

    def bool(self):
        return self.to(_dtype.bool)

    def cfloat(self):
        return self.to(_dtype.complex64)

    def cdouble(self):
        return self.to(_dtype.complex128)

    def pin_memory(self):
        return self

    def is_pinned(self):
        return False

    def share_memory_(self):
        return self

    def is_shared(self):
        return False

    # ------------------------------------------------------------------ new_* constructors
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        check_device(device)
        from .ops.creation import tensor
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        check_device(device)
        from .ops.creation import zeros
        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        check_device(device)
        from .ops.creation import ones
        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        check_device(device)
        from .ops.creation import empty
        return empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        check_device(device)
        from .ops.creation import full
        return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    # ------------------------------------------------------------------ printing
    def __repr__(self, *, tensor_contents=None):
        from ._print import tensor_repr
        return tensor_repr(self)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    # ------------------------------------------------------------------ operators
    # (each forwards to its function in ember.ops; see there for the math. ``+ - * /``
    # are those functions themselves, set at the end of this module)
    def __radd__(self, other):
        return _ops.add(other, self)

    def __iadd__(self, other):
        return self.add_(other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __isub__(self, other):
        return self.sub_(other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __imul__(self, other):
        return self.mul_(other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __itruediv__(self, other):
        return self.div_(other)

    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def __ifloordiv__(self, other):
        return self.floor_divide_(other)

    def __mod__(self, other):
        return _ops.remainder(self, other)

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def __imod__(self, other):
        return self.remainder_(other)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __ipow__(self, other):
        return self.pow_(other)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return _ops.positive(self)

    def __abs__(self):
        return _ops.abs(self)

    def __invert__(self):
        if self._data.dtype.kind in "fc":
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                            "tensors")
        return _ops.bitwise_not(self)

    def __and__(self, other):
        return _ops.bitwise_and(self, other)

    def __rand__(self, other):
        return _ops.bitwise_and(other, self)

    def __iand__(self, other):
        return self.bitwise_and_(other)

    def __or__(self, other):
        return _ops.bitwise_or(self, other)

    def __ror__(self, other):
        return _ops.bitwise_or(other, self)

    def __ior__(self, other):
        return self.bitwise_or_(other)

    def __xor__(self, other):
        return _ops.bitwise_xor(self, other)

    def __rxor__(self, other):
        return _ops.bitwise_xor(other, self)

    def __ixor__(self, other):
        return self.bitwise_xor_(other)

    def __lshift__(self, other):
        return _ops.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _ops.bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return _ops.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _ops.bitwise_right_shift(other, self)

    def __eq__(self, other):
        if other is None or not isinstance(other, _COMPARABLE):
            return False                 # torch: `t == None` is False, not an error
        return _ops.eq(self, other)

    def __ne__(self, other):
        if other is None or not isinstance(other, _COMPARABLE):
            return True
        return _ops.ne(self, other)

    def __lt__(self, other):
        return _ops.lt(self, other)

    def __le__(self, other):
        return _ops.le(self, other)

    def __gt__(self, other):
        return _ops.gt(self, other)

    def __ge__(self, other):
        return _ops.ge(self, other)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        _ops.setitem(self, index, value)

    # ------------------------------------------------------------------ transposes
    @property
    def T(self) -> "Tensor":
        if self._data.ndim > 2:
            warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse "
                          "their shape is deprecated.", UserWarning, stacklevel=2)
        return _ops.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> "Tensor":
        if self._data.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of "
                               f"matrices. Got {self._data.ndim}-D tensor.")
        return _ops.transpose(self, -2, -1)

    @property
    def H(self) -> "Tensor":
        if self._data.ndim not in (0, 2):
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                               f"{self._data.ndim}-D tensor.")
        t = self.T if self._data.ndim == 2 else self
        return _ops.conj(t) if self.is_complex() else t

    @property
    def mH(self) -> "Tensor":
        t = self.mT
        return _ops.conj(t) if self.is_complex() else t

    @property
    def real(self) -> "Tensor":
        return _ops.real(self)

    @property
    def imag(self) -> "Tensor":
        return _ops.imag(self)


# what `tensor == other` compares with (anything else, e.g. None, is simply unequal)
_COMPARABLE = (Tensor, int, float, bool, complex, np.ndarray, np.generic, list, tuple)


class _DictHandle:
    __slots__ = ("_d", "_k")

    def __init__(self, d, k):
        self._d, self._k = d, k

    def remove(self):
        self._d.pop(self._k, None)


class _Storage:
    """The memory behind a tensor and its views (``untyped_storage()``): enough for
    ``data_ptr()`` comparisons and ``nbytes()``."""

    def __init__(self, arr):
        self._arr = arr

    def data_ptr(self):
        return self._arr.__array_interface__["data"][0]

    def nbytes(self):
        return self._arr.nbytes

    def size(self):
        return self._arr.nbytes


def _rebuild_tensor(arr, requires_grad, cls=Tensor):
    t = _wrap(arr if isinstance(arr, np.ndarray) else np.asarray(arr), cls)
    t._requires_grad = requires_grad
    return t


def _root_array(arr):
    """The ndarray that owns the memory behind ``arr`` (NumPy's ``.base`` chain)."""
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def _checked_shape(shape):
    shape = tuple(int(s) for s in shape)
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(shape)}")
    return shape


def _wrap_dim(dim, ndim, what="dim"):
    """Normalise a possibly negative dimension index, with PyTorch's IndexError text."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim + n if dim < 0 else dim


def _trace_check(what, tensor):
    """Hook for ember.onnx tracing: converting a traced tensor to a Python value freezes the
    graph, which the tracer refuses (``ember.onnx._trace.Tracer.check``). No tracer runs by
    default."""
    tracer = _TRACE_HOOK[0]
    if tracer is not None:
        tracer.check(what, tensor)


_TRACE_HOOK = [None]          # the active ember.onnx Tracer, if any

from . import ops as _ops  # noqa: E402  (the operators above forward to these functions)

# ``x + y`` is ``add(x, y)``: the function itself rather than a method calling it saves a
# Python call on the hottest path of the framework.
Tensor.__add__ = _ops.add
Tensor.__sub__ = _ops.sub
Tensor.__mul__ = _ops.mul
Tensor.__truediv__ = _ops.div
