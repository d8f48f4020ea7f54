"""The backward pass: walk the graph from the outputs to the leaves, iteratively.

1. Discover the nodes reachable from the roots and count, for each node, how many edges
   lead into it (its dependencies). With ``inputs`` given, only the nodes that lead to one
   of them run.
2. Start from the roots with their gradients. A node runs once every edge into it has
   delivered its gradient (summed per output in a buffer). Then, in PyTorch's order:
   tensor hooks (``Tensor.register_hook``; a leaf's hooks run at its ``AccumulateGrad``),
   ``retain_grad`` (always last among them), node pre-hooks, the node's backward, node
   post-hooks. ``autograd.grad`` captures an input's gradient after its tensor hooks, or
   before them when the input's node also has to run for another input (PyTorch's order).
3. Each returned gradient is reduced to its input's shape and cast to its dtype (the one
   place where broadcasting is undone: ``sum_to_shape``) and added into the next node's
   buffer.
4. Leaves collect their gradient in ``AccumulateGrad`` nodes, or hand it back to
   ``autograd.grad`` when asked for it as an input.

No recursion anywhere, so a 100,000-op chain backpropagates with a flat stack. A node's
saved tensors are freed right after it runs unless ``retain_graph``.
"""
from __future__ import annotations

import warnings

from . import anomaly_mode
from .grad_mode import STATE
from .graph import AccumulateGrad, accumulator_of

__all__ = ["run_backward"]


class _late:
    """Names from modules that import this one (bound on the first backward pass: an import
    statement in the function itself costs as much as a small backward pass)."""
    Tensor = wrap = refresh_view = None

    @classmethod
    def bind(cls):
        from .._tensor import Tensor, _wrap
        from ..ops.inplace import refresh_view
        cls.Tensor, cls.wrap, cls.refresh_view = Tensor, _wrap, refresh_view


def _capture_point(t):
    """Where the gradient of tensor ``t`` can be observed: (node, output_nr)."""
    if t.grad_fn is not None:
        return t.grad_fn, t._output_nr
    if not t._requires_grad:
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    return accumulator_of(t), 0


def _is_retain_hook(hook) -> bool:
    # retain_grad's hook runs after every other tensor hook, as in PyTorch (so .grad shows
    # the gradient the other hooks produced). It is recognised by a marker attribute, or by
    # the qualified name of the closure Tensor.retain_grad registers.
    return getattr(hook, "_retains_grad_hook", False) or \
        getattr(hook, "__qualname__", "") == "Tensor.retain_grad.<locals>.keep"


def _run_tensor_hooks(hooks, grad, shared):
    """Run tensor hooks on one gradient, retain_grad's last; a returned tensor replaces it."""
    retain = None
    for hook in list(hooks):
        if _is_retain_hook(hook):
            retain = (retain or []) + [hook]
            continue
        new = hook(grad)
        if new is not None:
            grad = new
            shared.add(id(new._data))        # the hook's caller may keep it: never steal it
    for hook in retain or ():
        hook(grad)
    return grad


def _find_graph(root_nodes):
    """{node: [child nodes, with multiplicity]} for every node reachable from the roots."""
    children = {}
    stack = list(root_nodes)
    seen = set(stack)
    while stack:
        node = stack.pop()
        kids = [nxt for nxt, _ in node.next_functions if nxt is not None]
        children[node] = kids
        for k in kids:
            if k not in seen:
                seen.add(k)
                stack.append(k)
    return children


def _count_deps(root_nodes):
    """{node: number of edges into it} for every node reachable from the roots: the graph
    walk of a backward pass without ``inputs``, in one pass."""
    deps = {}
    roots = set(root_nodes)
    stack = list(roots)
    while stack:
        for child, _ in stack.pop().next_functions:
            if child is None:
                continue
            n = deps.get(child)
            if n is None:                     # first edge into child: walk it once
                deps[child] = 1
                if child not in roots:
                    stack.append(child)
            else:
                deps[child] = n + 1
    return deps


def _nodes_to_run(children, root_nodes, targets, run_targets):
    """With ``inputs`` given: the set of nodes that must run (those with a child that leads
    to a target), plus the targets themselves when ``run_targets`` (leaf accumulators in
    ``backward(inputs=...)``)."""
    order = _topological(children, root_nodes)
    leads = {}
    runs = set()
    for node in reversed(order):              # children before parents
        child_leads = False
        for k in children[node]:
            if leads[k]:
                child_leads = True
                break
        leads[node] = child_leads or node in targets
        if child_leads:
            runs.add(node)
    if run_targets:
        runs.update(run_targets)
    return runs


def run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None,
                 allow_unused=False, accumulate=True):
    """Backpropagate ``grad_tensors`` from ``tensors``.

    With ``accumulate`` (``Tensor.backward``) leaf gradients go into ``.grad`` (only of
    ``inputs`` when given; non-leaf ``inputs`` retain their grad). Without it
    (``autograd.grad``) the gradients of ``inputs`` are returned and no ``.grad`` is touched.
    """
    if _late.Tensor is None:
        _late.bind()
    Tensor, refresh_view = _late.Tensor, _late.refresh_view

    # views whose base changed in place since: bring their grad_fn up to date first
    for t in tensors:
        if t._base is not None:
            refresh_view(t)
    for t in inputs or ():
        if t._base is not None:
            refresh_view(t)

    # ---- roots ------------------------------------------------------------------------
    roots = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if t.grad_fn is not None:
            roots.append((t.grad_fn, t._output_nr, g))
        elif t._requires_grad:
            roots.append((accumulator_of(t), 0, g))
        else:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
    root_nodes = [r[0] for r in roots]

    # ---- what to capture and what to run -------------------------------------------------
    captures = None                    # {(node, nr): [positions in inputs]}
    runs = None                        # None: every reachable node runs
    if inputs is not None:
        captures = {}
        run_targets = set()
        seen_inputs = set()
        for pos, t in enumerate(inputs):
            if accumulate and not t._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            point = _capture_point(t)
            if accumulate:
                if id(t) in seen_inputs:   # backward(inputs=[x, x]) accumulates once
                    continue
                seen_inputs.add(id(t))
                if isinstance(point[0], AccumulateGrad):
                    run_targets.add(point[0])
                else:
                    # as in PyTorch, a non-leaf input of backward() retains its grad (from
                    # now on): its .grad is filled by the retain_grad hook
                    t.retain_grad()
            captures.setdefault(point, []).append(pos)
        children = _find_graph(root_nodes)
        targets = {node for node, _ in captures}
        runs = _nodes_to_run(children, root_nodes, targets, run_targets)
        needed = runs | targets
        deps = {}
        for node, kids in children.items():
            if node not in runs:
                continue
            for k in kids:
                if k in needed:
                    deps[k] = deps.get(k, 0) + 1
    else:
        deps = _count_deps(root_nodes)
        needed = None

    # ---- run ---------------------------------------------------------------------------
    buffers = {}                       # node -> list of summed grads, one per output
    routed = {}                        # id(array) -> times handed on (aliasing detection)
    shared = set()                     # ids of arrays someone outside the engine may hold
    for node, nr, g in roots:
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * max(1, len(node._output_meta))
        buf[nr] = g if buf[nr] is None else buf[nr] + g
        shared.add(id(g._data))        # the caller's own gradient: never stolen into .grad
    ready = [n for n in buffers if deps.get(n, 0) == 0]
    results = [None] * len(inputs) if inputs is not None else None
    anomaly = anomaly_mode.STATE.enabled
    prev_mode = STATE.enabled
    STATE.enabled = create_graph
    # The common case, in one test per node: no hooks of any kind on the node (Node._plain),
    # no capture for autograd.grad / backward(inputs=...), no anomaly mode.
    plain_run = captures is None and not anomaly
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            if plain_run and node._plain:
                in_grads = node._backward(grads)
                if not retain_graph:
                    node._release()
            else:
                is_acc = isinstance(node, AccumulateGrad)

                # 1. tensor hooks and retain_grad, 2. capture for autograd.grad and
                # backward(inputs=...). PyTorch's order: autograd.grad captures a node that
                # also has to run *before* its tensor hooks, one that only is captured after
                # them.
                runs_node = True
                if captures is not None:
                    runs_node = runs is None or node in runs
                    if not accumulate and runs_node:
                        _capture(node, grads, captures, results)
                if is_acc:
                    leaf_hooks = node.variable._hooks
                    if leaf_hooks and grads[0] is not None:
                        grads[0] = _run_tensor_hooks(leaf_hooks.values(), grads[0], shared)
                elif node._tensor_pre_hooks:
                    for nr, hooks in node._tensor_pre_hooks.items():
                        if hooks and grads[nr] is not None:
                            grads[nr] = _run_tensor_hooks(hooks, grads[nr], shared)
                if not runs_node:
                    if not accumulate:
                        _capture(node, grads, captures, results)
                    continue

                # 3. node pre-hooks
                if node._pre_hooks:
                    for hook in list(node._pre_hooks):
                        new = hook(tuple(grads))
                        if new is not None:
                            grads = list(new)
                            for g in grads:
                                if g is not None:
                                    shared.add(id(g._data))

                # 4a. a leaf: accumulate into .grad
                if is_acc:
                    if accumulate and grads[0] is not None:
                        _accumulate(node.variable, grads[0], create_graph, routed, shared)
                        for fn in list(node.variable._post_accumulate_hooks or ()):
                            fn(node.variable)
                    if node._post_hooks:
                        for hook in list(node._post_hooks):
                            hook((), tuple(grads))
                    continue

                # 4b. an operation: its backward, then post-hooks
                if anomaly:
                    in_grads = anomaly_mode.run_node(node, grads)
                else:
                    in_grads = node._backward(grads)
                if node._user_backward:           # autograd.Function: arrays the user may hold
                    for g in in_grads:
                        if g is not None and isinstance(g, Tensor):
                            shared.add(id(g._data))
                if node._post_hooks:
                    for hook in list(node._post_hooks):
                        new = hook(tuple(in_grads), tuple(grads))
                        if new is not None:
                            in_grads = tuple(new)
                            for g in in_grads:
                                if g is not None:
                                    shared.add(id(g._data))
                if anomaly:
                    anomaly_mode.check_nan(node, in_grads)
                if not retain_graph:
                    node._release()

            # 5. hand the gradients on
            for i, ((child, nr), g) in enumerate(zip(node.next_functions, in_grads)):
                if child is None:
                    continue
                if needed is not None and child not in needed:
                    continue
                if g is not None:
                    meta = node._input_meta[i]
                    # fast path: a Tensor already of the input's shape and dtype
                    if type(g) is not Tensor or g._data.shape != meta[0] or \
                            g._data.dtype is not meta[1].np:
                        g = _validate_grad(node, i, g, meta)
                    buf = buffers.get(child)
                    if buf is None:
                        buf = buffers[child] = [None] * (len(child._output_meta) or 1)
                    if buf[nr] is None:
                        buf[nr] = g
                        key = id(g._data)
                        routed[key] = routed.get(key, 0) + 1
                    else:
                        buf[nr] = buf[nr] + g
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    if child not in buffers:
                        # every incoming gradient was None: run it with "no gradient", so
                        # that its own children get their dependencies counted down
                        buffers[child] = [None] * max(1, len(child._output_meta))
                    ready.append(child)
    finally:
        STATE.enabled = prev_mode

    if inputs is not None and not accumulate:
        if not allow_unused:
            for pos, r in enumerate(results):
                if r is None:
                    raise RuntimeError(
                        f"The differentiated Tensor at index {pos} appears to not have been "
                        "used in the graph. Set allow_unused=True if this is the desired "
                        "behavior.")
        return results
    return None


def _capture(node, grads, captures, results):
    for nr in range(len(grads)):
        for pos in captures.get((node, nr), ()):
            results[pos] = grads[nr]


def _validate_grad(node, i, g, meta):
    """Check the gradient a node returned for its input ``i`` and bring it to the input's
    shape (summing broadcast dimensions) and dtype."""
    from .._tensor import Tensor
    if not isinstance(g, Tensor):
        raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
    shape, dt = meta
    gshape = g._data.shape
    if gshape != shape:
        if len(gshape) < len(shape) or any(s != 1 and s != d for s, d in
                                           zip(reversed(shape), reversed(gshape))):
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {i} - got "
                f"[{', '.join(map(str, gshape))}] but expected shape compatible with "
                f"[{', '.join(map(str, shape))}]")
        from ..ops._op import sum_to_shape
        g = sum_to_shape(g, shape, node)
    if g._data.dtype != dt.np:
        if g._data.dtype.kind == "c" and dt.np.kind != "c":
            g = g.real
        g = g.to(dt)
    return g


def _accumulate(variable, grad, create_graph, routed, shared):
    """Add ``grad`` into ``variable.grad`` (the leaf's AccumulateGrad step, also used for
    non-leaf ``inputs`` of ``backward``).

    The first gradient is taken over without a copy when no one else can hold its array;
    later ones are added in place, or out of place when the graph of the gradient is being
    recorded (``create_graph``), as PyTorch does.
    """
    _wrap = _late.wrap
    old = variable._grad
    arr = grad._data
    alias = (id(arr) in shared or routed.get(id(arr), 0) > 1 or not arr.flags.owndata
             or not arr.flags.writeable)
    if old is None:
        if grad._requires_grad:
            variable._grad = _clone(grad) if alias else grad
        else:
            variable._grad = _wrap(arr.copy() if alias else arr)
    elif create_graph or old._requires_grad or grad._requires_grad or \
            not old._data.flags.writeable:
        variable._grad = old + grad
    else:
        old._data += arr
        old._vc[0] += 1


_CLONE = []


def _clone(t):
    """A differentiable copy (``CloneBackward0``) of ``t``."""
    if not _CLONE:
        from ..ops._op import Op

        class Clone(Op):
            def forward(self, x):
                return x.copy()

            def backward(self, grad):
                return grad

        _CLONE.append(Clone)
    return _CLONE[0].apply(t)


def warn_create_graph_backward():
    warnings.warn(
        "Using backward() with create_graph=True will create a reference cycle between the "
        "parameter and its gradient which can cause a memory leak. We recommend using "
        "autograd.grad when creating the graph to avoid this. If you have to use this "
        "function, make sure to reset the .grad fields of your parameters to None after use "
        "to break the cycle and avoid the leak.", UserWarning, stacklevel=4)


def _topological(children, roots):
    """Nodes in an order where every node comes before all of its children."""
    order, state, stack = [], {}, [(r, False) for r in roots]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if state.get(node):
            continue
        state[node] = True
        stack.append((node, True))
        for k in children.get(node, ()):
            if not state.get(k):
                stack.append((k, False))
    order.reverse()
    return order
