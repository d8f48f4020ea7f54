"""The backward pass: walk the graph from the outputs to the leaves, iteratively.

1. Discover the nodes reachable from the roots and count, for each node, how many edges
   lead into it (its dependencies).
2. Start from the roots with their gradients. A node runs once every edge into it has
   delivered its gradient; its results are reduced to each input's shape and dtype (the one
   place where broadcasting is undone) and added into the buffers of the next nodes.
3. Leaves collect their gradient in ``AccumulateGrad`` nodes, or hand it back to
   ``autograd.grad`` when asked for it as an input.

No recursion anywhere, so a 100,000-op chain backpropagates with a flat stack.
"""
from __future__ import annotations

from . import anomaly_mode
from .grad_mode import STATE
from .graph import AccumulateGrad, accumulator_of

__all__ = ["run_backward"]


def _capture_point(t):
    """Where the gradient of tensor ``t`` can be observed: (node, output_nr)."""
    if t.grad_fn is not None:
        return t.grad_fn, t._output_nr
    if not t._requires_grad:
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    return accumulator_of(t), 0


def run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None,
                 allow_unused=False, accumulate=True):
    """Backpropagate ``grad_tensors`` from ``tensors``.

    With ``accumulate`` (``Tensor.backward``) leaf gradients go into ``.grad`` (only of
    ``inputs`` when given). Without it (``autograd.grad``) the gradients of ``inputs`` are
    returned and no ``.grad`` is touched.
    """
    from .._tensor import Tensor
    from ..ops._op import sum_to_shape

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

    # ---- capture points for `inputs` --------------------------------------------------
    captures = None                      # {(node, nr): position in inputs}
    if inputs is not None:
        captures = {}
        for pos, t in enumerate(inputs):
            captures.setdefault(_capture_point(t), []).append(pos)

    # ---- discover the graph -------------------------------------------------------------
    children = {}                        # node -> list of child nodes (with multiplicity)
    stack = [r[0] for r in roots]
    seen = set(stack)
    while stack:
        node = stack.pop()
        kids = [nxt for nxt, _ in node.next_functions if nxt is not None]
        children[node] = kids
        for k in kids:
            if k not in seen:
                seen.add(k)
                stack.append(k)

    # With `inputs`, run only the nodes that lead to one of them.
    if captures is not None:
        target_nodes = {node for node, _ in captures}
        leads = {}                       # node -> whether it reaches a capture node
        order = _topological(children, [r[0] for r in roots])
        for node in reversed(order):     # children before parents
            leads[node] = node in target_nodes or any(leads[k] for k in children[node])
        runs = {n for n in order if any(leads[k] for k in children[n])
                and not (isinstance(n, AccumulateGrad))}
    else:
        runs = target_nodes = None

    deps = {}
    for node, kids in children.items():
        if runs is not None and node not in runs:
            continue
        for k in kids:
            deps[k] = deps.get(k, 0) + 1

    # ---- run ---------------------------------------------------------------------------
    buffers = {}                          # node -> list of accumulated grads per output
    routed = {}                           # id(array) -> times handed on (to detect aliasing)
    for node, nr, g in roots:
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * max(1, len(node._output_meta))
        buf[nr] = g if buf[nr] is None else buf[nr] + g
        routed[id(g._data)] = routed.get(id(g._data), 0) + 1
    ready = [n for n in buffers if deps.get(n, 0) == 0]
    results = [None] * len(inputs) if inputs is not None else None
    anomaly = anomaly_mode.STATE.enabled
    prev_mode = STATE.enabled
    STATE.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            if node._tensor_pre_hooks:
                for nr, hooks in node._tensor_pre_hooks.items():
                    for hook in list(hooks):
                        if grads[nr] is not None:
                            new = hook(grads[nr])
                            if new is not None:
                                grads[nr] = new
            if captures is not None:
                for nr in range(len(grads)):
                    for pos in captures.get((node, nr), ()):
                        results[pos] = grads[nr]
                if runs is not None and node not in runs:
                    continue
            if isinstance(node, AccumulateGrad):
                if accumulate:
                    _accumulate(node.variable, grads[0], create_graph, routed)
                continue
            if node._pre_hooks:
                for hook in list(node._pre_hooks):
                    new = hook(tuple(grads))
                    if new is not None:
                        grads = list(new)
            if anomaly:
                in_grads = anomaly_mode.run_node(node, grads)
            else:
                in_grads = node._backward(grads)
            if node._post_hooks:
                for hook in list(node._post_hooks):
                    new = hook(tuple(in_grads), tuple(grads))
                    if new is not None:
                        in_grads = tuple(new)
            if anomaly:
                anomaly_mode.check_nan(node, in_grads)
            if not retain_graph:
                node._release()
            for (child, nr), g, meta in zip(node.next_functions, in_grads, node._input_meta):
                if child is None:
                    continue
                if runs is not None and child not in runs and child not in target_nodes:
                    continue
                if g is not None:
                    if not isinstance(g, Tensor):
                        raise TypeError(f"{node.name()} returned a gradient of type "
                                        f"{type(g).__name__}, expected a Tensor")
                    shape, dt = meta
                    if g._data.shape != shape:
                        g = sum_to_shape(g, shape, node)
                    if g.dtype is not dt:
                        g = g.to(dt)
                    buf = buffers.get(child)
                    if buf is None:
                        buf = buffers[child] = [None] * max(1, len(child._output_meta))
                    if buf[nr] is None:
                        buf[nr] = g
                        key = id(g._data)
                        routed[key] = routed.get(key, 0) + 1
                    else:
                        buf[nr] = buf[nr] + g
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    if child in buffers:
                        ready.append(child)
                    elif isinstance(child, AccumulateGrad):
                        pass          # nothing arrived for this leaf
                    else:
                        # every incoming gradient was None: propagate "no gradient" further
                        buffers[child] = [None] * max(1, len(child._output_meta))
                        ready.append(child)
    finally:
        STATE.enabled = prev_mode

    if inputs is not None and not accumulate:
        for pos, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior.")
        return results
    if inputs is not None and accumulate:
        for t, g in zip(inputs, results):
            if g is not None:
                _accumulate(t, g, create_graph, routed)
    return None


def _accumulate(variable, grad, create_graph, routed):
    """Add ``grad`` into ``variable.grad`` (the leaf's AccumulateGrad step)."""
    if grad is None:
        return
    hooks = variable._hooks
    if hooks:
        for hook in list(hooks.values()):
            new = hook(grad)
            if new is not None:
                grad = new
    from .._tensor import _wrap
    old = variable._grad
    if old is None:
        if create_graph:
            variable._grad = grad
        else:
            arr = grad._data
            # A gradient array may be shared: handed to two inputs (x + x), a view of another
            # buffer, or the user's own `gradient` argument. Copy unless it is ours alone.
            if routed.get(id(arr), 0) > 1 or not arr.flags.owndata or not arr.flags.writeable:
                arr = arr.copy()
            variable._grad = _wrap(arr)
    elif create_graph or old.requires_grad:
        variable._grad = old + grad
    else:
        old._data += grad._data
        old._vc[0] += 1
    for fn in (variable._post_accumulate_hooks or ()):
        fn(variable)


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
