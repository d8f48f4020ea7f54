"""Clean-ups on the finished ONNX graph, before it is checked and written.

``optimize`` runs, in order:

* ``fold_conv_batchnorm`` (only with ``do_constant_folding=True``): an eval-mode
  ``BatchNormalization`` whose input is a ``Conv`` output read by nothing else is folded
  into the convolution's weight and bias (new initializers), and the BatchNormalization
  node disappears. ``y = (conv(x, W) + b - mean) * s + beta`` with
  ``s = gamma / sqrt(var + eps)`` is ``conv(x, W * s) + (b - mean) * s + beta``, ``s``
  applied per output channel. Only initializers that are not also graph inputs take part
  (with ``keep_initializers_as_inputs`` or ``export_params=False`` the user may feed other
  values at run time, which a folded graph would ignore).
* ``remove_identities``: an ``Identity`` node (``clone``, ``contiguous``, an identity
  permute) whose output is not a graph output is removed, its readers reading its input.
* ``remove_dead``: drop what no graph output depends on (nodes whose results are unused
  and initializers no node reads).

Converters emit straightforward nodes; rewrites that make the graph smaller or faster live
here, each a function over the ``GraphProto``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fold_conv_batchnorm", "optimize", "remove_dead", "remove_identities"]


def remove_dead(graph, keep: set) -> None:
    """Drop nodes none of whose outputs reach a graph output, then unused initializers."""
    needed = set(keep) | {o.name for o in graph.output}
    alive = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            alive.append(node)
            needed.update(i for i in node.input if i)
            for attr in node.attribute:          # subgraphs (If/Loop bodies) read outer names
                for g in list(attr.g.node if attr.HasField("g") else []):
                    needed.update(i for i in g.input if i)
    alive.reverse()
    del graph.node[:]
    graph.node.extend(alive)
    inits = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            from onnx import helper
            return helper.get_attribute_value(a)
    return default


def _unique(base: str, taken: set) -> str:
    name, k = base, 1
    while name in taken:
        name = f"{base}_{k}"
        k += 1
    taken.add(name)
    return name


def fold_conv_batchnorm(graph, keep: set = frozenset()) -> int:
    """Fold each ``Conv -> BatchNormalization`` pair (see the module docstring) in place;
    returns how many were folded."""
    from onnx import numpy_helper
    inits = {t.name: t for t in graph.initializer}
    fed = {i.name for i in graph.input}            # names the user may feed
    visible = set(keep) | {o.name for o in graph.output}
    producer, uses = {}, {}
    for node in graph.node:
        for o in node.output:
            producer[o] = node
        for i in node.input:
            uses[i] = uses.get(i, 0) + 1
        for attr in node.attribute:                # names read inside subgraphs count too
            if attr.HasField("g"):
                for sub in attr.g.node:
                    for i in sub.input:
                        uses[i] = uses.get(i, 0) + 1
    taken = set(producer) | set(inits) | fed | {n for n in uses}

    def constant(name):
        if not name or name not in inits or name in fed:
            return None
        return numpy_helper.to_array(inits[name])

    folded = []                                     # positions of the folded BN nodes
    for pos, bn in enumerate(graph.node):
        if bn.op_type != "BatchNormalization" or bn.domain not in ("", "ai.onnx"):
            continue
        if _attr(bn, "training_mode", 0) or any(bn.output[1:]) or len(bn.input) != 5:
            continue
        conv = producer.get(bn.input[0])
        if conv is None or conv.op_type != "Conv" or conv.domain not in ("", "ai.onnx"):
            continue
        src = bn.input[0]
        if uses.get(src, 0) != 1 or src in visible:
            continue
        gamma, beta, mean, var = (constant(n) for n in bn.input[1:5])
        w = constant(conv.input[1])
        b = constant(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else None
        if any(a is None for a in (gamma, beta, mean, var, w)) or \
                (len(conv.input) > 2 and conv.input[2] and b is None):
            continue
        if w.dtype.kind != "f":
            continue
        eps = float(_attr(bn, "epsilon", 1e-5))
        c = w.shape[0]
        if any(a.shape != (c,) for a in (gamma, beta, mean, var)):
            continue
        s = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
        new_w = (w.astype(np.float64) * s.reshape((c,) + (1,) * (w.ndim - 1))).astype(w.dtype)
        b0 = b.astype(np.float64) if b is not None else np.zeros(c)
        new_b = ((b0 - mean.astype(np.float64)) * s + beta.astype(np.float64)).astype(w.dtype)
        w_name = _unique(f"{conv.input[1]}_fused_bn", taken)
        b_name = _unique(f"{conv.input[2] if b is not None else conv.input[1] + '_bias'}"
                         f"_fused_bn", taken)
        graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(new_w), w_name))
        graph.initializer.append(numpy_helper.from_array(new_b, b_name))
        inits[w_name] = graph.initializer[-2]
        inits[b_name] = graph.initializer[-1]
        del conv.input[1:]
        conv.input.extend([w_name, b_name])
        conv.output[0] = bn.output[0]
        producer[bn.output[0]] = conv
        folded.append(pos)
    if folded:
        drop = set(folded)
        kept = [n for k, n in enumerate(graph.node) if k not in drop]
        del graph.node[:]
        graph.node.extend(kept)
    return len(folded)


def remove_identities(graph, keep: set = frozenset()) -> int:
    """Bypass the Identity nodes whose output is not a graph output; returns how many."""
    outputs = set(keep) | {o.name for o in graph.output}
    alias, kept = {}, []
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in alias:
                node.input[i] = alias[name]
        if node.op_type == "Identity" and node.output[0] not in outputs:
            alias[node.output[0]] = node.input[0]
        else:
            kept.append(node)
    if alias:
        del graph.node[:]
        graph.node.extend(kept)
    return len(alias)


def optimize(graph, fold_constants: bool = True, keep: set = frozenset()) -> None:
    """Run the graph passes (see the module docstring)."""
    if fold_constants:
        fold_conv_batchnorm(graph, keep)
    remove_identities(graph, keep)
    remove_dead(graph, keep)
