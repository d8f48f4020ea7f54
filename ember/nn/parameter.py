"""``Parameter`` and ``Buffer``: the tensors a ``Module`` registers as its state.

A ``Parameter`` is a Tensor subclass; assigning one to a Module attribute registers it, so
``module.parameters()`` (and so an optimizer) finds it. It shares memory and version counter
with the tensor it was made from and is always a leaf. Operations on a Parameter return
plain Tensors, as in PyTorch.

``Buffer`` marks a tensor that a Module should register as a buffer on assignment
(``self.running_mean = nn.Buffer(ember.zeros(3))``); the object itself is a plain Tensor.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor, _wrap

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


def _data_of(data) -> np.ndarray:
    if data is None:
        return np.empty((0,), dtype=_dtype.get_default_dtype().np)
    if isinstance(data, Tensor):
        return data._data
    raise TypeError(f"Parameter(): data must be a Tensor, got {type(data).__name__}")


class Parameter(Tensor):
    """A Tensor that is a module parameter (PyTorch's ``torch.nn.Parameter``).

    Args:
        data (Tensor, optional): the values; shared, not copied. Default: an empty tensor.
        requires_grad (bool): whether autograd tracks it. Default: True.
    """

    def __new__(cls, data=None, requires_grad=True):
        p = _wrap(_data_of(data), cls)
        if isinstance(data, Tensor):
            p._vc = data._vc                   # a view of the same memory: one version counter
        p.requires_grad_(requires_grad)
        return p

    def __init__(self, data=None, requires_grad=True):
        pass                                   # everything is done in __new__

    def __repr__(self):
        return "Parameter containing:\n" + repr(_plain_alias(self))

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self._requires_grad, type(self)))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = _rebuild_parameter(self._data.copy(), self._requires_grad, type(self))
        if self._grad is not None:
            new._grad = _wrap(self._grad._data.copy())
        memo[id(self)] = new
        return new


def _plain_alias(t: Tensor) -> Tensor:
    """A plain Tensor over ``t``'s values with the same ``requires_grad`` (for printing)."""
    plain = _wrap(t._data)
    plain._requires_grad = t._requires_grad
    return plain


def _rebuild_parameter(arr, requires_grad, cls=Parameter):
    p = _wrap(np.asarray(arr), cls)
    p._requires_grad = bool(requires_grad)
    return p


class _BufferMeta(type):
    # ``isinstance(t, Buffer)`` is true for the plain tensors that ``Buffer(...)`` returns.
    def __instancecheck__(cls, instance):
        if cls is Buffer:
            return isinstance(instance, Tensor) and instance.__dict__.get("_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(metaclass=_BufferMeta):
    """Marks a tensor to be registered as a module buffer when assigned as an attribute.

    Args:
        data (Tensor, optional): the buffer's values (shared). Default: an empty tensor.
        persistent (bool): whether the buffer is part of ``state_dict``. Default: True.
    """

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = _wrap(_data_of(None))
        elif not isinstance(data, Tensor):
            raise TypeError(f"Buffer(): data must be a Tensor, got {type(data).__name__}")
        t = data.detach()
        t.__dict__["persistent"] = persistent
        t.__dict__["_is_buffer"] = True
        return t


# ---------------------------------------------------------------------------------------
# Uninitialized parameters and buffers (for lazy modules such as LazyLinear)

_UNINIT_SHAPE_ERROR = ("Can't access the shape of an uninitialized parameter or buffer. This "
                       "error usually happens in `load_state_dict` when trying to load an "
                       "uninitialized parameter into an initialized one. Call `forward` to "
                       "initialize the parameters before accessing their attributes.")


class _UninitializedMixin:
    """A placeholder without a shape, materialized on the lazy module's first forward."""

    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor ``shape`` (uninitialised values) and turn it into a plain
        ``cls_to_become`` instance."""
        from .._device import check_device
        check_device(device)
        dt = _dtype.as_dtype(dtype) if dtype is not None else _dtype_of(self._data)
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        self._data = np.empty(shape, dtype=dt.np)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(_UNINIT_SHAPE_ERROR)

    def size(self, dim=None):
        raise RuntimeError(_UNINIT_SHAPE_ERROR)

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, protocol):
        return (type(self), (self._requires_grad,))


def _dtype_of(arr):
    return _dtype.NP_TO_DTYPE[arr.dtype]


class UninitializedParameter(_UninitializedMixin, Parameter):
    """A parameter whose shape is not known yet (see ``LazyLinear``)."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        dt = _dtype.as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
        p = _wrap(np.empty((0,), dtype=dt.np), cls)
        p._requires_grad = bool(requires_grad)
        return p

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = type(self)(self._requires_grad, None, _dtype_of(self._data))
        memo[id(self)] = new
        return new


class UninitializedBuffer(_UninitializedMixin, Tensor):
    """A buffer whose shape is not known yet."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        dt = _dtype.as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
        t = _wrap(np.empty((0,), dtype=dt.np), cls)
        t._requires_grad = bool(requires_grad)
        t.__dict__["persistent"] = persistent
        return t

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass


def is_lazy(param) -> bool:
    """Whether ``param`` is an ``UninitializedParameter`` or ``UninitializedBuffer``."""
    return isinstance(param, _UninitializedMixin)
