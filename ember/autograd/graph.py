"""Graph nodes: what forward records and backward walks.

Every tensor produced by a recorded operation points at one ``Node`` (its ``grad_fn``) and
knows which of the node's outputs it is (``_output_nr``). A node points at the nodes that
produced its inputs through ``next_functions``: one ``(node, output_nr)`` pair per input,
``(None, 0)`` for inputs that need no gradient. Leaf tensors that require grad are
represented in the graph by an ``AccumulateGrad`` node, which adds the incoming gradient
into the leaf's ``.grad``.
"""
from __future__ import annotations

import itertools
import weakref

from .._dtype import NP_TO_DTYPE

__all__ = ["Node", "AccumulateGrad", "SavedTensor"]

_sequence = itertools.count()


class Node:
    """One recorded operation. Subclasses implement ``_backward(grads) -> tuple`` where
    ``grads`` has one entry per output and the result one entry per input."""

    # Filled in when the node is recorded (see ember.ops._op.Op.apply):
    next_functions: tuple = ()     # ((node, output_nr) | (None, 0), ...) one per input
    _input_meta: tuple = ()        # ((shape, dtype) | None, ...) one per input
    _output_meta: tuple = ()       # ((shape, dtype), ...) one per output
    _saved: tuple = ()             # SavedTensor records
    _freed = False
    _tensor_pre_hooks = None       # {output_nr: [hook]} from Tensor.register_hook / retain_grad
    _pre_hooks = None              # [hook(grad_outputs)] from Node.register_prehook
    _post_hooks = None             # [hook(grad_inputs, grad_outputs)] from Node.register_hook
    _anomaly_trace = None          # forward traceback, recorded under detect_anomaly
    _name = None
    _user_backward = False         # autograd.Function: backward returns user-owned arrays
    # No hooks of any kind, not a leaf's accumulator, not user code: the engine runs such a
    # node without looking further (cleared by every hook registration, see below).
    _plain = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls._user_backward:
            cls._plain = False

    def name(self) -> str:
        return self._name or type(self).__name__ + "Backward0"

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def metadata(self) -> dict:
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self.__dict__["_metadata"] = {}
        return d

    # -- saved tensors ---------------------------------------------------------------
    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward.")
        # (a saved input not modified since is returned as is: unpack's common case, inlined)
        return tuple([s.tensor if s.output_nr is None and s.version_counter[0] == s.version
                      else s.unpack(self) for s in self._saved])

    def _release(self):
        """Free what backward needed (called after backward unless retain_graph)."""
        if self._saved:
            self._saved = ()
            self._freed = True

    # -- hooks ---------------------------------------------------------------------------
    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node's backward; it may
        return replacement grad_inputs."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._plain = False
        self._post_hooks.append(fn)
        return _RemovableHandle(self._post_hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node's backward; it may return
        replacement grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._plain = False
        self._pre_hooks.append(fn)
        return _RemovableHandle(self._pre_hooks, fn)

    def _add_tensor_pre_hook(self, output_nr, fn):
        if self._tensor_pre_hooks is None:
            self._tensor_pre_hooks = {}
        self._plain = False
        hooks = self._tensor_pre_hooks.setdefault(output_nr, [])
        hooks.append(fn)
        return _RemovableHandle(hooks, fn)

    def _backward(self, grads):  # pragma: no cover - every node type overrides it
        raise NotImplementedError(f"{self.name()} does not implement backward")


class _RemovableHandle:
    """Returned by register_*hook; ``remove()`` unregisters the hook."""

    __slots__ = ("_list", "_fn")
    _next_id = itertools.count()

    def __init__(self, hook_list, fn):
        self._list = hook_list
        self._fn = fn

    def remove(self):
        try:
            self._list.remove(self._fn)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class AccumulateGrad(Node):
    """The graph's stand-in for a leaf tensor that requires grad."""

    _name = "AccumulateGrad"
    _plain = False

    def __init__(self, variable):
        self.variable = variable

    @property
    def _output_meta(self):
        # (computed when asked, from the leaf: an accumulator made for a graph that is never
        # run backward through, the common case in inference-style code, never needs it)
        data = self.variable._data
        return ((data.shape, NP_TO_DTYPE[data.dtype]),)

    def _backward(self, grads):  # accumulation is done by the engine (it knows create_graph)
        return ()


def accumulator_of(tensor) -> AccumulateGrad:
    """The leaf's AccumulateGrad node, shared by every op that uses the leaf while the graph
    lives (the tensor holds it weakly, the graph strongly)."""
    ref = tensor._accumulator
    acc = ref() if ref is not None else None
    if acc is None:
        acc = AccumulateGrad(tensor)
        tensor._accumulator = weakref.ref(acc)
    return acc


class SavedTensor:
    """A tensor kept for backward, with the version it had when saved, so that an in-place
    change made afterwards is detected instead of silently giving wrong gradients.

    Outputs of the node itself are kept as their array (not the Tensor, which would make a
    reference cycle tensor -> node -> tensor) and rebuilt on unpacking with the node as their
    grad_fn, so double backward through them still works."""

    __slots__ = ("tensor", "data", "version_counter", "version", "output_nr")

    def __init__(self, tensor, output_nr=None):
        # (ember.ops._op.Op._record builds the records of inputs inline: keep it in step)
        vc = self.version_counter = tensor._vc
        self.version = vc[0]
        self.output_nr = output_nr
        if output_nr is None:
            self.tensor = tensor
        else:
            self.tensor = None
            self.data = tensor._data

    def unpack(self, node):
        if self.version_counter[0] != self.version:
            t = self.tensor
            desc = (f"[ember.{t.dtype._legacy} [{', '.join(map(str, t.shape))}]]" if t is not None
                    else f"[ember.{_legacy_of(self.data)} [{', '.join(map(str, self.data.shape))}]]")
            which = (f", which is output {self.output_nr} of {node.name()}," if self.output_nr
                     is not None else "")
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {desc}{which} is at version {self.version_counter[0]}; "
                f"expected version {self.version} instead. Hint: the backtrace further above "
                "can be found with ember.autograd.set_detect_anomaly(True); use out-of-place "
                "operations (x = x * 2 rather than x *= 2) on tensors that backward needs.")
        if self.output_nr is None:
            return self.tensor
        t = _make_result(self.data, node, self.output_nr)
        t._vc = self.version_counter
        return t


def _make_result(arr, node, output_nr):
    """ember._tensor._make_result, bound on first use (ember._tensor imports this package)."""
    global _make_result
    _make_result = _tensor_module()._make_result
    return _make_result(arr, node, output_nr)


def _tensor_module():
    """ember._tensor, imported on first use (it imports this package)."""
    global _TENSOR_MODULE
    if _TENSOR_MODULE is None:
        from .. import _tensor
        _TENSOR_MODULE = _tensor
    return _TENSOR_MODULE


_TENSOR_MODULE = None


def _legacy_of(array):
    from .._dtype import NP_TO_DTYPE
    return NP_TO_DTYPE[array.dtype]._legacy
