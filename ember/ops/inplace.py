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
from ..autograd.graph import SavedTensor
from .._tensor import _TRACE_HOOK
from ._op import Op, Tensor, _wrap

__all__ = ["inplace_update", "CopySlices", "check_inplace_allowed", "refresh_view"]


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


def _check_inference(target: Tensor) -> None:
    if target._inference and not STATE.inference:
        raise RuntimeError("Inplace update to inference tensor outside InferenceMode is not "
                           "allowed.You can make a clone to get a normal tensor before doing "
                           "inplace update.See https://github.com/pytorch/rfcs/pull/17 for more "
                           "details.")


def _check_broadcast(value_shape, target_shape):
    """The new value must broadcast to the target's shape (not enlarge it)."""
    if value_shape == target_shape:
        return
    try:
        shape = np.broadcast_shapes(value_shape, target_shape)
    except ValueError:
        shape = None
    if shape != tuple(target_shape):
        raise RuntimeError(f"output with shape {list(target_shape)} doesn't match the broadcast "
                           f"shape {list(shape if shape is not None else value_shape)}")


def _keep_old_value(value: Tensor, target: Tensor) -> None:
    """``x.mul_(y)`` computes ``x * y`` out of place, whose node saved ``x`` (its input 0)
    for the gradient of ``y``, and then overwrites ``x``. PyTorch's in-place kernels keep
    the original ``x`` for that; here that saved reference is pointed at a copy of the old
    value (with x's old place in the graph), so the coming version bump does not invalidate
    it. Only input 0 of the node that produced ``value`` is rewritten: ``x`` saved in any
    other role (``x.mul_(x)``'s other operand) or by earlier operations still raises on
    backward, as in PyTorch."""
    node = value.grad_fn
    positions = getattr(type(node), "save_inputs", None) if node is not None else None
    if not positions or positions[0] != 0:
        return
    saved = node._saved
    first = saved[0] if saved else None
    if first is None or first.output_nr is not None or first.tensor is not target:
        return
    old = _wrap(target._data.copy())
    old._requires_grad = target._requires_grad
    old.grad_fn = target.grad_fn
    if target._output_nr:
        old._output_nr = target._output_nr
    node._saved = (SavedTensor(old),) + tuple(saved[1:])


def _check_overlap(target: Tensor) -> None:
    """Writing into an expanded tensor would write one element several times."""
    arr = target._data
    if arr.size and not arr.flags.writeable or arr.size > 1 and any(
            st == 0 and n > 1 for st, n in zip(arr.strides, arr.shape)):
        raise RuntimeError("unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location. Please clone() the "
                           "tensor before performing the operation.")


def refresh_view(view: Tensor) -> None:
    """Bring a view's autograd identity up to date after its base was changed in place
    through another view (PyTorch regenerates a view's grad_fn the same way).

    Views remember the version of their memory when their ``grad_fn`` was set
    (``_view_version``); if it has changed since, the view is replayed from its base, so
    that gradients flow through the base's current graph (its ``CopySlices``)."""
    base = view._base
    if base is None:
        return
    seen = view.__dict__.get("_view_version")
    if seen is None or seen == view._vc[0] or not STATE.enabled:
        return
    if base._requires_grad:
        v = view._view_fn(base)
        view.grad_fn = v.grad_fn
        view._output_nr = v._output_nr
        view._requires_grad = v._requires_grad
    view._view_version = view._vc[0]


def inplace_update(target: Tensor, value, index=None, check_cast=True) -> Tensor:
    """Make ``target`` (or ``target[index]``) hold ``value``, in place; returns target.

    ``value`` is a Tensor (already computed out of place, with its graph) or a plain value.
    ``index`` is a NumPy index (already normalised by ``ember.ops.index``), or None for the
    whole tensor. ``check_cast`` refuses results of a higher dtype category than the target
    (in-place arithmetic, ``int_tensor.add_(0.5)``); assignment (``copy_``, ``x[i] = v``,
    ``check_cast=False``) casts like PyTorch does, and links the target to ``value`` through
    a ``CopyBackwards`` node.
    """
    tracer = _TRACE_HOOK[0]
    if tracer is not None:                  # ember.onnx is tracing: it follows the write
        tracer.inplace(target, value, index)
    value_is_tensor = isinstance(value, Tensor)
    _check_inference(target)
    _check_overlap(target)
    if value_is_tensor and check_cast:
        _check_cast(value._data.dtype, target, "in-place")
    if index is None:
        _check_broadcast(value._data.shape if value_is_tensor else np.shape(value),
                         target._data.shape)
    needs_graph = STATE.enabled and (target._requires_grad or
                                     (value_is_tensor and value._requires_grad))
    if not needs_graph:
        _write(target._data, index, value._data if value_is_tensor else value)
        target._vc[0] += 1
        return target

    check_inplace_allowed(target)
    if not value_is_tensor:
        value = _wrap(np.asarray(value, dtype=target._data.dtype))
    fresh = check_cast                  # arithmetic results are new; assigned values are not
    if value._data.dtype != target._data.dtype:
        value = value.to(target.dtype)
        fresh = True
    if value._requires_grad:
        _keep_old_value(value, target)
    if index is None and target._base is None:
        # whole tensor, not a view: the tensor becomes the new value's output
        if value._data.shape != target._data.shape:
            from .shape import expand
            value = expand(value, target._data.shape)
            fresh = True
        if value._requires_grad and (value.grad_fn is None or not fresh):
            value = CopyBackwards.apply(value)   # a leaf or a user's tensor: link, not share
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
        target._view_version = target._vc[0]
    return target


class CopyBackwards(Op):
    """The gradient link from a tensor to the value assigned into it (``a.copy_(w)``)."""

    def forward(self, x):
        return x

    def backward(self, grad):
        return grad

    def name(self):
        return "CopyBackwards"


class _Relayout(Op):
    """Identity on values that lays the array out like ``like`` (same strides), so that
    view functions recorded on that layout replay on it."""

    def forward(self, x, like):
        out = np.empty_like(like)
        np.copyto(out, x)
        return out

    def backward(self, grad):
        return grad


class CopySlices(Op):
    """``base`` with one region replaced by ``value``, written into base's memory.

    The region is ``view_fn(base)[index]`` (either part may be absent). Backward: the
    gradient of ``value`` is that region of the incoming gradient; the old base gets the
    incoming gradient with the region zeroed (those elements were overwritten).
    """

    def name(self):
        return "CopySlices"

    def forward(self, base, value, view_fn, index, region_array):
        self.view_fn = view_fn
        self.index = index
        # an empty array with the base's strides: view functions recorded on the base (a
        # .view() of a transposed tensor, say) replay only on the same memory layout
        self.layout = np.empty_like(base) if view_fn is not None else None
        _write(region_array, index, value)
        return base                       # the same memory: the op is in place

    def _region(self, t: Tensor) -> Tensor:
        from .index import getitem_normalized
        r = t
        if self.view_fn is not None:
            if r._data.strides != self.layout.strides:
                r = _Relayout.apply(r, like=self.layout)
            r = self.view_fn(r)
        return getitem_normalized(r, self.index) if self.index is not None else r

    def backward(self, grad):
        grad_value = self._region(grad) if self.needs_input_grad[1] else None
        grad_base = None
        if self.needs_input_grad[0]:
            # the overwritten elements get no gradient: zero them in a mask of the base
            mask = np.ones_like(self.layout) if self.layout is not None else \
                np.ones(grad._data.shape, dtype=grad._data.dtype)
            mask = mask.astype(grad._data.dtype, copy=False)
            with no_grad():
                m = self.view_fn(_wrap(mask))._data if self.view_fn is not None else mask
            _write(m, self.index, 0) if self.index is not None else m.fill(0)
            grad_base = grad * _wrap(mask)
        return grad_base, grad_value
