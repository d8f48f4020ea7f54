"""In-place operations and writes into views, with correct autograd.

Every in-place method (``x.add_(y)``, ``x[idx] = v``, ``x.zero_()``, ...) goes through
``inplace_update``. The new value is computed out of place (so its graph is right), then
written into the tensor's existing memory, so that views and NumPy arrays sharing that memory
see it, and the version counter is bumped, so that backward notices saved tensors that
changed. Autograd then treats the tensor as the output of the new computation:

* a tensor that is not a view simply takes over the new value's ``grad_fn``;
* a view ``v`` of a ``base`` rewires the base: its new ``grad_fn`` is a ``CopySlices`` node
  (base with v's region replaced by the new value), and ``v`` becomes a view of that. The
  region is re-derived from the base with the view's recorded view functions.
"""
from __future__ import annotations

import numpy as np

from .._dtype import NP_TO_DTYPE
from ..autograd.grad_mode import STATE, no_grad
from ._op import Op, Tensor, _wrap

__all__ = ["inplace_update", "CopySlices", "check_inplace_allowed"]


def check_inplace_allowed(target: Tensor) -> None:
    """PyTorch refuses in-place changes to leaves that require grad (and their views)
    while grad mode is on: the change would be invisible to autograd."""
    if not STATE.enabled:
        return
    if target._requires_grad and target.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    base = target._base
    if base is not None and base._requires_grad and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")


def _check_cast(result_dtype: np.dtype, target: Tensor, what: str):
    if result_dtype == target._data.dtype:
        return
    rank = "biufc"
    if rank.index(result_dtype.kind) > rank.index(target._data.dtype.kind):
        raise RuntimeError(f"result type {NP_TO_DTYPE[result_dtype]._legacy[:-6]} can't be "
                           f"cast to the desired output type "
                           f"{NP_TO_DTYPE[target._data.dtype]._legacy[:-6]}")


def _write(target_array, index, value_array):
    if index is None:
        np.copyto(target_array, value_array, casting="unsafe")
    else:
        target_array[index] = value_array


def inplace_update(target: Tensor, value, index=None, check_cast=True) -> Tensor:
    """Make ``target`` (or ``target[index]``) hold ``value``, in place; returns target.

    ``value`` is a Tensor (already computed out of place, with its graph) or a plain value.
    ``index`` is a NumPy index (already normalised by ``ember.ops.index``), or None for the
    whole tensor. ``check_cast`` refuses results of a higher dtype category than the target
    (in-place arithmetic, ``int_tensor.add_(0.5)``); assignment (``copy_``, ``x[i] = v``)
    casts like PyTorch does.
    """
    value_is_tensor = isinstance(value, Tensor)
    needs_graph = STATE.enabled and (target._requires_grad or
                                     (value_is_tensor and value._requires_grad))
    if value_is_tensor and check_cast:
        _check_cast(value._data.dtype, target, "in-place")
    if not needs_graph:
        _write(target._data, index, value._data if value_is_tensor else value)
        target._vc[0] += 1
        return target

    check_inplace_allowed(target)
    if not value_is_tensor:
        value = _wrap(np.asarray(value, dtype=target._data.dtype))
    if value._data.dtype != target._data.dtype:
        value = value.to(target.dtype)
    if index is None and target._base is None:
        # whole tensor, not a view: the tensor becomes the new value's output
        if value._data.shape != target._data.shape:
            from .shape import expand
            value = expand(value, target._data.shape)
        _write(target._data, None, value._data)
        target._vc[0] += 1
        target.grad_fn = value.grad_fn
        target._output_nr = value._output_nr
        target._requires_grad = value._requires_grad
        return target

    # a region of a base changes: record CopySlices on the base
    base = target._base if target._base is not None else target
    view_fn = target._view_fn if target._base is not None else None
    region_shape = (target._data[index].shape if index is not None else target._data.shape)
    if value._data.shape != region_shape:
        from .shape import expand
        value = expand(value, region_shape)
    region_array = target._data
    tmp = CopySlices.apply(base, value, view_fn=view_fn, index=index,
                           region_array=region_array)
    base.grad_fn = tmp.grad_fn
    base._output_nr = 0
    base._requires_grad = True
    base._vc[0] += 1
    if target is not base:
        v = view_fn(base)                 # target is now a view of the rewired base
        target.grad_fn = v.grad_fn
        target._output_nr = v._output_nr
        target._requires_grad = True
    return target


class CopySlices(Op):
    """``base`` with one region replaced by ``value``, written into base's memory.

    The region is ``view_fn(base)[index]`` (either part may be absent). Backward: the
    gradient of ``value`` is that region of the incoming gradient; the old base gets the
    incoming gradient with the region zeroed (those elements were overwritten).
    """

    def forward(self, base, value, view_fn, index, region_array):
        self.view_fn = view_fn
        self.index = index
        self.base_shape = base.shape
        _write(region_array, index, value)
        return base                       # the same memory: the op is in place

    def _region(self, t: Tensor) -> Tensor:
        from .index import getitem_normalized
        r = self.view_fn(t) if self.view_fn is not None else t
        return getitem_normalized(r, self.index) if self.index is not None else r

    def backward(self, grad):
        grad_value = self._region(grad) if self.needs_input_grad[1] else None
        grad_base = None
        if self.needs_input_grad[0]:
            mask = np.ones(self.base_shape, dtype=grad._data.dtype)
            with no_grad():
                m = self.view_fn(_wrap(mask))._data if self.view_fn is not None else mask
            _write(m, self.index, 0) if self.index is not None else m.fill(0)
            grad_base = grad * _wrap(mask)
        return grad_base, grad_value
