"""``Optimizer``: the base class of every optimizer (PyTorch's ``torch.optim.Optimizer``).

An optimizer holds *parameter groups* (``param_groups``: dicts with a ``'params'`` list and
the group's options) and per-parameter *state* (``state``: a defaultdict keyed by the
parameter tensor). Subclasses implement ``step``; the update itself is a plain function
per optimizer (``ember.optim.adam.adam`` ...) that works on the parameters' NumPy arrays in
place, so a step allocates no autograd graph and keeps each parameter's dtype.

The built-in optimizers but LBFGS derive from ``_GroupwiseOptimizer`` (at the end of this
file), whose ``step`` gathers each group's parameters, gradients and lazily created state
and hands them to the optimizer's ``_update_group``; each functional form runs its
per-parameter loop through ``_apply_update`` (one parameter at a time, or batched by
``_foreach_update``). Their argument checks are in ``_validate.py``.

``state_dict()`` replaces parameters by their running index over all groups, as PyTorch
does, so a state dict saved from one model can be loaded into an optimizer over another
model with the same parameter layout (also one made by PyTorch, once its tensors are
converted).
"""
from __future__ import annotations

import functools
import itertools
import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np

from .. import _dtype
from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import STATE as _GRAD_STATE, enable_grad

__all__ = ["Optimizer", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """The default of an option that every parameter group must set itself."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods: ``remove()`` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, hooks_dict):
        import weakref
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(RemovableHandle._next_id)

    def remove(self) -> None:
        hooks = self.hooks_dict_ref()
        if hooks is not None and self.id in hooks:
            del hooks[self.id]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _add_hook(hooks: OrderedDict, hook, prepend: bool = False) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` to run before every optimizer's ``step``;
    it may return a replacement ``(args, kwargs)``."""
    return _add_hook(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` to run after every optimizer's ``step``."""
    return _add_hook(_global_optimizer_post_hooks, hook)


# ---------------------------------------------------------------------------------------
# helpers shared by the optimizers

def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module == "builtins" else f"{module}.{name}"


def _get_scalar_dtype(is_fused=None):
    """The dtype of scalar state such as ``state['step']``: float64 when the default dtype
    is float64, else float32 (always float32 for fused optimizers), as in PyTorch."""
    if is_fused:
        return _dtype.float32
    return _dtype.float64 if _dtype.get_default_dtype() is _dtype.float64 else _dtype.float32


def _scalar_tensor(value, dtype=None) -> Tensor:
    """A 0-d state tensor (``state['step']`` and friends)."""
    dt = dtype if dtype is not None else _get_scalar_dtype()
    return _wrap(np.array(value, dtype=dt.np))


def _zeros_like(p: Tensor) -> Tensor:
    return _wrap(np.zeros_like(p._data))


def _full_like(p: Tensor, value) -> Tensor:
    return _wrap(np.full_like(p._data, value))


def _to_scalar(x):
    """A 1-element tensor hyperparameter as a 0-d tensor; anything else unchanged."""
    if isinstance(x, Tensor) and x._data.ndim != 0:
        return x.reshape(())
    return x


def _value(x):
    """A hyperparameter (a number or a 1-element tensor) for the math. A tensor gives a
    NumPy scalar of its dtype, so that arithmetic with it rounds as PyTorch's 0-d tensor
    arithmetic does (a float32 ``lr`` tensor makes a float32 step size)."""
    if isinstance(x, Tensor):
        return x._data.reshape(())[()]
    return x


def _real(arr) -> np.ndarray:
    """``arr`` as a real array of at least one dimension sharing its memory: a complex array
    becomes (re, im) pairs (PyTorch's ``view_as_real``: the optimizers treat the two parts as
    independent real numbers), and a 0-d array a 1-element view, so that in-place and
    ``out=`` operations work on it."""
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.dtype.kind != "c":
        return arr
    return arr[..., None].view(arr.real.dtype)


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start += weight * (end - start)`` in place, in the form PyTorch's ``lerp_`` uses
    (the other side for weights of 0.5 and more keeps the result exact at weight 1)."""
    diff = np.subtract(end, start)
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1 - weight
        np.subtract(end, diff, out=start)


# ---------------------------------------------------------------------------------------
# the foreach path: one update over flat concatenations instead of one per parameter

# Parameters are batched into flat arrays of at most _FOREACH_CHUNK elements (larger flat
# arrays fall out of the CPU caches and make the update slower than one call per parameter);
# a parameter of more than _FOREACH_CHUNK // 4 elements is updated on its own, where the
# per-call overhead no longer matters.
_FOREACH_CHUNK = 1 << 15


def _flat_base(lst, idx, bounds, total):
    """The flat array behind the state tensors ``lst[i]`` (``i`` in ``idx``) if an earlier
    foreach step left them as consecutive views of one array, in this order; else None."""
    mark = lst[idx[0]].__dict__.get("_flat")
    if mark is None or mark[0].size != total:
        return None
    base = mark[0]
    for i, (start, _) in zip(idx, bounds):
        t = lst[i]
        mark = t.__dict__.get("_flat")
        if mark is None or mark[0] is not base or mark[1] != start or t._data.base is not base:
            return None
    return base


def _foreach_update(update, lists: list, scalar_lists: tuple, alone=_FOREACH_CHUNK // 4,
                    **kwargs) -> None:
    """Run the per-parameter ``update(*lists, **kwargs)`` once per batch of parameters
    instead of once per parameter.

    ``lists`` are the update's list arguments, aligned with ``lists[0]`` (the parameters):
    ``lists[1]`` the gradients, the others per-element state (entries may be None, as SGD's
    momentum buffers before the first step, and a list may be empty when unused). The lists
    at the indices ``scalar_lists`` hold per-parameter 0-d state (``step``, NAdam's
    ``mu_product``...). Small parameters with the same dtype and the same scalar state form
    batches: their arrays are concatenated and updated together (element by element, so
    exactly as one at a time); the parameters are copied back. Parameters of more than
    ``alone`` elements are updated one at a time.

    The per-element state tensors of a batch are left as views of one flat array (marked
    with ``_flat``), so later steps update them in place without gathering or scattering.
    """
    params = lists[0]
    columns = [[p._data.dtype for p in params]]
    columns += [[t._data.item() for t in lists[j]] for j in scalar_lists]
    columns += [[t is None for t in lists[j]] for j in range(2, len(lists))
                if j not in scalar_lists and lists[j]]
    batches: dict = {}
    for i, key in enumerate(zip(*columns)):
        batches.setdefault(key, []).append(i)

    chunks = []
    for idx in batches.values():
        chunk, size = [], 0
        for i in idx:
            n = params[i]._data.size
            if n > alone:
                chunks.append([i])
                continue
            if chunk and size + n > _FOREACH_CHUNK:
                chunks.append(chunk)
                chunk, size = [], 0
            chunk.append(i)
            size += n
        if chunk:
            chunks.append(chunk)

    for idx in chunks:
        if len(idx) == 1:
            i = idx[0]
            single = [[lst[i]] if lst else [] for lst in lists]
            update(*single, **kwargs)
            for lst, new in zip(lists, single):
                if lst:
                    lst[i] = new[0]            # state the update created (SGD's buffers)
            continue
        shapes = [params[i]._data.shape for i in idx]
        bounds, total = [], 0
        for i in idx:
            bounds.append((total, total + params[i]._data.size))
            total += params[i]._data.size
        flat_lists, gathered = [], []
        for j, lst in enumerate(lists):
            flat = None
            if not lst:
                flat_lists.append([])
                gathered.append(False)
                continue
            if j in scalar_lists:
                flat = lst[idx[0]]._data.copy()
            elif lst[idx[0]] is not None and j >= 2:
                flat = _flat_base(lst, idx, bounds, total)
            gathered.append(flat is None)
            if flat is None and lst[idx[0]] is not None:
                flat = np.concatenate([lst[i]._data.reshape(-1) for i in idx])
            flat_lists.append([None if flat is None else _wrap(flat)])
        update(*flat_lists, **kwargs)

        for j, lst in enumerate(lists):
            if not lst or j == 1:
                continue                       # gradients are never written
            new = flat_lists[j][0]
            if j in scalar_lists:
                for i in idx:
                    lst[i]._data[...] = new._data
            elif j == 0:
                flat = new._data
                for i, (start, stop), shape in zip(idx, bounds, shapes):
                    p = lst[i]
                    p._data[...] = flat[start:stop].reshape(shape)
                    p._vc[0] += 1
            elif new is not None and gathered[j]:
                # state now lives in the flat array: point each tensor at its piece
                flat = new._data
                for i, (start, stop), shape in zip(idx, bounds, shapes):
                    piece = flat[start:stop].reshape(shape)
                    if lst[i] is None:         # created by the update (SGD's buffers)
                        lst[i] = _wrap(piece)
                    else:
                        lst[i]._data = piece
                    lst[i].__dict__["_flat"] = (flat, start)


def _apply_update(update, lists: list, scalar_lists: tuple, foreach, kwargs: dict,
                  alone=_FOREACH_CHUNK // 4) -> None:
    """Run a functional form's per-parameter loop ``update(*lists, **kwargs)``: batched by
    ``_foreach_update`` (with its ``scalar_lists`` and ``alone``) when there is more than one
    parameter and ``foreach`` is True or None (the default batches: only small tensors are
    batched, where it pays), else directly on the lists."""
    if (foreach is None or foreach) and len(lists[0]) > 1:
        _foreach_update(update, lists, scalar_lists, alone, **kwargs)
    else:
        update(*lists, **kwargs)


def _use_grad_for_differentiable(func):
    """Run ``step`` with grad mode off (the update is not part of any graph)."""
    @functools.wraps(func)
    def step(self, *args, **kwargs):
        prev = _GRAD_STATE.enabled
        _GRAD_STATE.enabled = bool(self.defaults.get("differentiable", False))
        try:
            return func(self, *args, **kwargs)
        finally:
            _GRAD_STATE.enabled = prev
    return step


def _hook_step(func):
    """Wrap an optimizer class's ``step`` so that the step pre/post hooks run around it."""
    @functools.wraps(func)
    def step(*args, **kwargs):
        self = args[0]
        # (the hook dicts are usually empty: test before building the chains, every step)
        if _global_optimizer_pre_hooks or self._optimizer_step_pre_hooks:
            for pre_hook in chain(_global_optimizer_pre_hooks.values(),
                                  self._optimizer_step_pre_hooks.values()):
                result = pre_hook(self, args, kwargs)
                if result is not None:
                    if isinstance(result, tuple) and len(result) == 2:
                        args, kwargs = result
                    else:
                        raise RuntimeError(f"{func} must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
        out = func(*args, **kwargs)
        self._optimizer_step_code()
        if self._optimizer_step_post_hooks or _global_optimizer_post_hooks:
            for post_hook in chain(self._optimizer_step_post_hooks.values(),
                                   _global_optimizer_post_hooks.values()):
                post_hook(self, args, kwargs)
        return out
    step.hooked = True
    return step


_HOOK_DICTS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
               "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
               "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks")


class Optimizer:
    """Base class for all optimizers.

    Args:
        params (iterable): Tensors to optimize, ``(name, tensor)`` pairs, or dicts (parameter
            groups, each with a ``'params'`` entry and its own options).
        defaults (dict): the default value of each option, used where a group does not set it.

    Parameters should come in an ordered collection (a list, ``module.parameters()``): the
    order ties a state dict's entries to the parameters.
    """

    # For subclasses, used by __setstate__ (and so by load_state_dict) to bring state saved
    # by older versions up to date: the options a group may lack, with their defaults (added
    # in this order), and the per-parameter 0-d state entries older versions kept as Python
    # numbers (made tensors again).
    _option_defaults: dict = {}
    _scalar_state: tuple = ()

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = defaults
        for name in _HOOK_DICTS:
            setattr(self, name, OrderedDict())
        self._patch_step_function()

        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))

        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ------------------------------------------------------------------ pickling, printing
    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for name in _HOOK_DICTS:
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self._patch_step_function()
        self.defaults.setdefault("differentiable", False)
        for group in self.param_groups:
            for key, default in self._option_defaults.items():
                group.setdefault(key, default)
            if self._scalar_state:
                # float32 for fused groups, else the default scalar dtype (as PyTorch)
                dtype = _get_scalar_dtype(group.get("fused"))
                for p in group["params"]:
                    p_state = self.state.get(p, [])
                    if len(p_state) != 0:
                        for key in self._scalar_state:
                            if not isinstance(p_state[key], Tensor):
                                p_state[key] = _scalar_tensor(float(p_state[key]), dtype)

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ------------------------------------------------------------------ step and its hooks
    def _patch_step_function(self) -> None:
        # As in PyTorch, the concrete class's step is wrapped once, on first use, so hooks
        # registered on any instance run around it.
        cls = self.__class__
        if not getattr(cls.step, "hooked", False):
            cls.step = _hook_step(cls.step)

    def _optimizer_step_code(self) -> None:
        """Called after each step (PyTorch's profiler entry point); does nothing."""

    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (Callable, optional): re-evaluates the model and returns the loss.
        """
        raise NotImplementedError

    def register_step_pre_hook(self, hook) -> RemovableHandle:
        """Register ``hook(optimizer, args, kwargs)`` to run before ``step``; it may return a
        replacement ``(args, kwargs)``. Returns a handle with ``remove()``."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook) -> RemovableHandle:
        """Register ``hook(optimizer, args, kwargs)`` to run after ``step``."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Register ``hook(optimizer)`` to run before ``state_dict()`` builds the dict."""
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Register ``hook(optimizer, state_dict)``, which may return a replacement dict."""
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False):
        """Register ``hook(optimizer, state_dict)`` to run before loading; it may return a
        replacement dict."""
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False):
        """Register ``hook(optimizer)`` to run after ``load_state_dict``."""
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    def _call_closure(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """The optimizer's state as ``{'state': {index: {...}}, 'param_groups': [...]}``.

        Parameters are replaced by their running index over all groups (in each group's
        ``'params'``), and ``'state'`` is keyed by that index. The state values are the
        optimizer's own tensors (not copies), as in PyTorch.
        """
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)

        index_of: dict = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(index_of[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        state_dict = {"state": state, "param_groups": groups}

        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    @staticmethod
    def _process_value_according_to_param_policy(param, value, param_id, param_groups,
                                                 key=None):
        """A copy of the state tensor ``value`` for ``param``: floating state takes the
        parameter's dtype, except ``'step'``, which keeps its own (float32 for fused and
        capturable groups)."""
        fused = capturable = False
        for pg in param_groups:
            if param_id in pg["params"]:
                fused = pg.get("fused", False)
                capturable = pg.get("capturable", False)
                break
        arr = value._data
        if key == "step":
            if capturable or fused:
                return _wrap(arr.astype(np.float32, copy=True))
            return _wrap(arr.copy())
        if param.is_floating_point():
            return _wrap(arr.astype(param._data.dtype, copy=True))
        return _wrap(arr.copy())

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict made by ``state_dict()`` (of this optimizer class, over
        parameters of the same layout). State tensors are copied and cast to their
        parameter's dtype (``'step'`` keeps its own); NumPy arrays are accepted in place of
        tensors."""
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result

        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")

        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, param_id=None, key=None):
            if isinstance(value, np.ndarray):
                value = _wrap(value)
            if isinstance(value, Tensor):
                return Optimizer._process_value_according_to_param_policy(
                    param, value, param_id, state_dict["param_groups"], key)
            if isinstance(value, dict):
                return {k: cast(param, v, param_id, key=k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v, param_id) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v, param_id=k)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})

        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    # ------------------------------------------------------------------ gradients, groups
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors.

        Args:
            set_to_none (bool): set ``.grad`` to None instead of filling it with zeros (a
                parameter whose ``.grad`` is None is skipped by ``step``). Default: True.
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g._requires_grad = False
                if g._data.flags.writeable:
                    g._data.fill(0)
                    g._vc[0] += 1
                else:
                    g._data = np.zeros_like(g._data)

    def add_param_group(self, param_group: dict) -> None:
        """Add a parameter group (a dict with ``'params'`` and any options; options it does
        not set take the optimizer's defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")

        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            param_group["param_names"] = names

        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params "
                                "is " + _typename(param))
            if not self.defaults.get("differentiable", None) and not (
                    param.grad_fn is None or param._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        if len(tensors) != len({id(p) for p in tensors}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)

        seen: set = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)


class _GroupwiseOptimizer(Optimizer):
    """The shared ``step`` of the optimizers whose update is a functional form applied to
    each parameter group in turn (all but LBFGS).

    A step runs the closure, then for each group gathers the parameters that have a
    gradient, their gradients and their state (``_gather``), and hands them to
    ``_update_group``, which calls the functional form with the group's options and the
    state tensors it needs. By default ``_gather`` gives each parameter's state dict,
    filled by ``_init_state`` before the parameter's first step; subclasses implement
    ``_init_state`` and ``_update_group``, or override ``_gather`` (SGD).
    """

    def _init_state(self, p: Tensor, group: dict, state: dict) -> None:
        """Fill the empty ``state`` of parameter ``p`` (in ``group``) before its first step."""
        raise NotImplementedError

    def _update_group(self, group: dict, params: list, grads: list, states: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient), given their gradients and
        their states as ``_gather`` gives them."""
        raise NotImplementedError

    def _gather(self, group: dict):
        """The group's parameters that have a gradient, their gradients and their state
        dicts (filled by ``_init_state`` if empty), as three lists."""
        params, grads, states = [], [], []
        all_states = self.state
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            state = all_states[p]
            if len(state) == 0:
                self._init_state(p, group, state)
            params.append(p)
            grads.append(grad)
            states.append(state)
        return params, grads, states

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (Callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._call_closure(closure)
        for group in self.param_groups:
            params, grads, states = self._gather(group)
            self._update_group(group, params, grads, states)
        return loss
