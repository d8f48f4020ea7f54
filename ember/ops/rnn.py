"""Recurrent primitives: the cells (RNN, LSTM, GRU) and whole recurrent layers.

Two kinds of primitive live here.

**Cell ops** (``RNNCellOp``, ``LSTMCellOp``, ``GRUCellOp``) compute one time step from the
input part of the gates (``gi = x @ W_ih^T + b_ih``, computed by ``linear`` outside) and the
previous state. Their forward is NumPy, their backward ember operations, so double backward
works (the modules ``RNNCell``/``LSTMCell``/``GRUCell`` use them). The LSTM and GRU ops also
return their gate activations as extra outputs which the public functions drop: backward
reads them as saved *outputs* (tensors whose ``grad_fn`` is the op itself), so its formulas
stay differentiable without recomputing anything.

**Layer ops** (``RNNLayerOp``) run one direction of one layer over a whole sequence. The
input projection of every time step is one GEMM (``x @ W_ih^T + b``), then a Python loop over
time does one ``h @ W_hh^T`` GEMM and a handful of in-place ufuncs per step. Backward is
backpropagation through time in NumPy: per step only the recurrent part (a few ufuncs and
one GEMM); the weight gradients are one GEMM each over all steps at the end, from the gate
gradients and the saved previous states. This is about twice as fast as a loop of cell ops
(one graph node per layer and direction instead of a handful per step; measured by case (d)
of ``benchmarks/bench_rnn.py``). Double backward (``create_graph=True``) is still supported:
the backward then recomputes the layer with the cell ops (under aliases of its inputs) and
differentiates that with ``ember.autograd.grad(create_graph=True)``.

Sequences are always handled in the *packed* layout: ``x`` is ``(N, input_size)`` with the
rows of time step ``t`` at ``offset[t] : offset[t] + batch_sizes[t]``, and the batch sizes do
not increase over time (a padded time-major ``(T, B, I)`` input is the special case
``batch_sizes = (B,) * T``, a plain reshape). Rows beyond ``batch_sizes[t]`` have finished
(forward direction) or not yet started (reverse direction), so their state simply stays as
it is, and the final state of every sequence is taken at its own last step.

Sigmoids are computed as ``0.5 * tanh(0.5 * x) + 0.5`` with the factor 0.5 folded into the
weights once per layer, so that all gates of a step take a single ``tanh`` call (exact up to
rounding; no overflow for large ``|x|``).
"""
from __future__ import annotations

import threading

import numpy as np

from ..autograd.grad_mode import STATE, enable_grad
from ._op import Op, _wrap

__all__ = []

_LSTM, _GRU, _RNN_TANH, _RNN_RELU = "LSTM", "GRU", "RNN_TANH", "RNN_RELU"


# ---------------------------------------------------------------------------------------
# NumPy helpers

def _sigmoid_(a):
    """In place: ``a = sigmoid(a)`` (via tanh: no overflow warnings, one transcendental)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _gate_vectors(dt, hidden, pattern):
    """Per-gate-column vectors for the folded sigmoid: ``scale`` (0.5 for sigmoid gates, 1
    for tanh gates) multiplies the pre-activation and, after ``tanh``, the activation again;
    ``shift`` (0.5 / 0) is added last. ``pattern`` has one entry per gate: True = sigmoid."""
    scale = np.repeat(np.array([0.5 if s else 1.0 for s in pattern], dtype=dt), hidden)
    shift = np.repeat(np.array([0.5 if s else 0.0 for s in pattern], dtype=dt), hidden)
    return scale, shift


def _steps(batch_sizes, reverse):
    """``[(row offset, batch size), ...]`` in processing order."""
    offs, s = [], 0
    for n in batch_sizes:
        offs.append(s)
        s += n
    steps = list(zip(offs, batch_sizes))
    return steps[::-1] if reverse else steps


class _Workspace(threading.local):
    """Per-thread free lists of large scratch arrays, keyed by (shape, dtype).

    A recurrent layer's forward and backward each need several megabytes of scratch
    (gate activations, cell states, gate gradients) of the same shapes step after step.
    Fresh large NumPy arrays cost page faults every time the allocator has handed the
    memory back to the system; on some machines that is as slow as the arithmetic. Arrays
    that never escape to the caller are therefore handed back here when done (at the end
    of backward, or when the graph releases the forward's cache) and reused; at most
    ``_WS_LIMIT`` bytes are kept per thread.
    """

    def __init__(self):
        self.free = {}
        self.nbytes = 0


_WS = _Workspace()
_WS_LIMIT = 32 << 20
_WS_MIN = 64 << 10          # smaller arrays come cheaply from malloc: not worth keeping


def _take(shape, dt):
    """A scratch array (uninitialised), from the workspace when one of that shape is
    free."""
    lst = _WS.free.get((shape, dt))
    if lst:
        a = lst.pop()
        _WS.nbytes -= a.nbytes
        return a
    return np.empty(shape, dt)


def _give(*arrays):
    """Hand scratch arrays back to the workspace (the caller must hold no other
    reference to them, nor views)."""
    ws = _WS
    for a in arrays:
        if a is None or a.nbytes < _WS_MIN or ws.nbytes + a.nbytes > _WS_LIMIT:
            continue
        ws.free.setdefault((a.shape, a.dtype), []).append(a)
        ws.nbytes += a.nbytes


# ---------------------------------------------------------------------------------------
# Cell primitives (one time step; backward in ember ops)

class RNNCellOp(Op):
    """``h' = act(gi + h @ W_hh^T + b_hh)`` with ``act`` tanh or relu.

    Inputs ``(gi, h, w_hh, b_hh)`` (``b_hh`` may be None); output ``h'``.
    """

    save_inputs = (1, 2)
    save_outputs = (0,)

    def forward(self, gi, h, w_hh, b_hh, nonlinearity):
        self.relu = nonlinearity == "relu"
        y = np.matmul(h, w_hh.T)
        y += gi
        if b_hh is not None:
            y += b_hh
        if self.relu:
            np.maximum(y, 0, out=y)
        else:
            np.tanh(y, out=y)
        return y

    def backward(self, grad):
        h, w_hh, y = self.saved_tensors
        if self.relu:
            d = grad * _wrap((y._data > 0).astype(y._data.dtype))
        else:
            d = grad * (1 - y * y)
        return _cell_grads(self.needs_input_grad, d, d, h, w_hh)

    def name(self):
        return "RnnReluCellBackward0" if self.relu else "RnnTanhCellBackward0"


class LSTMCellOp(Op):
    """One LSTM step. Inputs ``(gi, h, c, w_hh, b_hh)``; outputs ``(h_raw, c', acts)``:
    ``h_raw = o * tanh(c')`` (the new hidden state before any projection), the new cell
    state, and the gate activations ``[i, f, g, o]`` (kept for backward; the public function
    drops them)."""

    save_inputs = (1, 2, 3)
    save_outputs = (1, 2)

    def forward(self, gi, h, c, w_hh, b_hh):
        hid = c.shape[-1]
        a = np.matmul(h, w_hh.T)
        a += gi
        if b_hh is not None:
            a += b_hh
        scale, shift = _gate_vectors(a.dtype, hid, (True, True, False, True))
        a *= scale
        np.tanh(a, out=a)
        a *= scale
        a += shift
        i, f, g, o = a[:, :hid], a[:, hid:2 * hid], a[:, 2 * hid:3 * hid], a[:, 3 * hid:]
        c_new = f * c
        c_new += i * g
        h_new = o * np.tanh(c_new)
        return h_new, c_new, a

    def backward(self, g_h, g_c, g_a):
        from .shape import cat
        h, c, w_hh, c_new, a = self.saved_tensors
        i, f, g, o = a.chunk(4, -1)
        tc = c_new.tanh()
        d_o = g_h * tc
        d_c = g_c + g_h * o * (1 - tc * tc)
        d_a = cat([d_c * g, d_c * c, d_c * i, d_o], -1) + g_a
        deriv = cat([i * (1 - i), f * (1 - f), 1 - g * g, o * (1 - o)], -1)
        d_gates = d_a * deriv
        c_grad = d_c * f if self.needs_input_grad[2] else None
        return _cell_grads(self.needs_input_grad, d_gates, d_gates, h, w_hh, c_grad=c_grad)

    def name(self):
        return "LstmCellBackward0"


class GRUCellOp(Op):
    """One GRU step, PyTorch's formulation: ``r, z = sigmoid(gi_rz + hw_rz)``,
    ``n = tanh(gi_n + r * hw_n)``, ``h' = (1 - z) * n + z * h`` with ``hw = h @ W_hh^T +
    b_hh``. Inputs ``(gi, h, w_hh, b_hh)``; outputs ``(h', [r, z, n], hw_n)`` (the last two
    are kept for backward; the public function drops them)."""

    save_inputs = (1, 2)
    save_outputs = (1, 2)

    def forward(self, gi, h, w_hh, b_hh):
        hid = h.shape[-1]
        hw = np.matmul(h, w_hh.T)
        if b_hh is not None:
            hw += b_hh
        rzn = np.empty_like(hw)
        np.add(gi[:, :2 * hid], hw[:, :2 * hid], out=rzn[:, :2 * hid])
        _sigmoid_(rzn[:, :2 * hid])
        n = rzn[:, 2 * hid:]
        np.multiply(rzn[:, :hid], hw[:, 2 * hid:], out=n)
        n += gi[:, 2 * hid:]
        np.tanh(n, out=n)
        h_new = h - n
        h_new *= rzn[:, hid:2 * hid]
        h_new += n
        return h_new, rzn, np.ascontiguousarray(hw[:, 2 * hid:])

    def backward(self, g_h, g_a, g_hn):
        from .shape import cat
        h, w_hh, rzn, hn = self.saved_tensors
        r, z, n = rzn.chunk(3, -1)
        g_r, g_z, g_n = g_a.chunk(3, -1)
        d_n = (g_h * (1 - z) + g_n) * (1 - n * n)
        d_z = (g_h * (h - n) + g_z) * (z * (1 - z))
        d_r = (d_n * hn + g_r) * (r * (1 - r))
        d_hw = cat([d_r, d_z, d_n * r + g_hn], -1)
        d_gi = cat([d_r, d_z, d_n], -1)
        direct = g_h * z if self.needs_input_grad[1] else None
        return _cell_grads(self.needs_input_grad, d_gi, d_hw, h, w_hh, h_direct=direct)

    def name(self):
        return "GruCellBackward0"


def _cell_grads(needs, d_gi, d_hw, h, w_hh, c_grad=None, h_direct=None):
    """The gradients of a cell op's inputs ``(gi, h, [c], w_hh, b_hh)`` from the gradient
    of its input-side (``d_gi``) and hidden-side (``d_hw``) pre-activations."""
    from ..nn.functional import linear
    has_c = len(needs) == 5                        # LSTM: (gi, h, c, w_hh, b_hh)
    k = 3 if has_c else 2                          # position of w_hh
    g_gi = d_gi if needs[0] else None
    g_h = None
    if needs[1]:
        g_h = linear(d_hw, w_hh.t())               # d_hw @ W_hh
        if h_direct is not None:
            g_h = g_h + h_direct
    g_w = linear(d_hw.t(), h.t()) if needs[k] else None
    g_b = d_hw if needs[k + 1] else None           # summed over the batch by the engine
    if has_c:
        return g_gi, g_h, c_grad, g_w, g_b
    return g_gi, g_h, g_w, g_b


def rnn_cell(gi, h, w_hh, b_hh, nonlinearity="tanh"):
    """One Elman RNN step from the input part ``gi`` of the pre-activation."""
    return RNNCellOp.apply(gi, h, w_hh, b_hh, nonlinearity=nonlinearity)


def lstm_cell(gi, h, c, w_hh, b_hh):
    """One LSTM step from the input part ``gi`` of the gates: ``(o * tanh(c'), c')``."""
    h_new, c_new, _ = LSTMCellOp.apply(gi, h, c, w_hh, b_hh)
    return h_new, c_new


def gru_cell(gi, h, w_hh, b_hh):
    """One GRU step from the input part ``gi`` of the gates."""
    return GRUCellOp.apply(gi, h, w_hh, b_hh)[0]


# ---------------------------------------------------------------------------------------
# Whole-layer primitive: forward loops over time in NumPy, backward is BPTT in NumPy

class _Plan:
    """The time-step bookkeeping of one direction over a packed sequence.

    ``steps``: in processing order, ``(row offset, rows, pieces)`` where ``pieces`` says
    where the previous state of those rows lives: ``(dst0, dst1, src, src0)`` maps rows
    ``dst0:dst1`` of this step to rows ``src0:...`` of the initial state (``src == 0``) or
    of the layer's own per-row outputs (``src == 1``: the previous step's rows). No state
    is copied: a step reads the previous step's output rows in place. ``segments``: the
    same pieces for all steps, merged into as few contiguous blocks as possible (one or
    two for a padded batch), for the vectorized work in backward. ``final``: the row of
    each sequence's last step (its final state).
    """

    def __init__(self, batch_sizes, reverse):
        offs, acc = [], 0
        for n in batch_sizes:
            offs.append(acc)
            acc += n
        order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
        self.steps, pieces, prev = [], [], None
        for t in order:
            s, n = offs[t], batch_sizes[t]
            if n == 0:
                continue
            if prev is None:
                ps = [(s, s + n, 0, 0)]
            else:
                k = min(n, batch_sizes[prev])
                ps = [(s, s + k, 1, offs[prev])]
                if n > k:                       # (reverse direction: sequences starting)
                    ps.append((s + k, s + n, 0, k))
            self.steps.append((s, n, ps))
            pieces += ps
            prev = t
        merged = []
        for d0, d1, src, s0 in sorted(pieces):
            if merged:
                m0, m1, msrc, ms0 = merged[-1]
                if msrc == src and m1 == d0 and ms0 + (m1 - m0) == s0:
                    merged[-1] = (m0, d1, src, ms0)
                    continue
            merged.append((d0, d1, src, s0))
        self.segments = merged
        batch = batch_sizes[0] if len(batch_sizes) else 0
        if reverse:
            self.final = np.arange(batch)
        else:
            bs = np.asarray(batch_sizes, dtype=np.int64)
            lengths = (bs[None, :] > np.arange(batch)[:, None]).sum(1)
            self.final = np.asarray(offs, dtype=np.int64)[lengths - 1] + np.arange(batch) \
                if batch else np.zeros(0, dtype=np.int64)


def _prev(pieces, outs, init):
    """The previous state of one step's rows: a view of ``outs`` (or ``init``), or, when a
    step's rows come from both, their concatenation."""
    if len(pieces) == 1:
        d0, d1, src, s0 = pieces[0]
        return (outs if src else init)[s0:s0 + d1 - d0]
    return np.concatenate([(outs if src else init)[s0:s0 + d1 - d0]
                           for d0, d1, src, s0 in pieces])


def _prev_gemm(plan, dg, outs, init):
    """``sum_t dg_t^T @ prev_t``: the gradient of a hidden-to-hidden weight, one GEMM per
    contiguous block of previous states."""
    acc = None
    for d0, d1, src, s0 in plan.segments:
        part = np.matmul(dg[d0:d1].T, (outs if src else init)[s0:s0 + d1 - d0])
        if acc is None:
            acc = part
        else:
            acc += part
    if acc is None:
        acc = np.zeros((dg.shape[1], outs.shape[1]), dg.dtype)
    return acc


def _lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, plan, keep):
    hid = c0.shape[1]
    dt = x.dtype
    n_rows, batch = x.shape[0], h0.shape[0]
    scale, shift = _gate_vectors(dt, hid, (True, True, False, True))
    # the input part of every step's gates, one GEMM; the buffer then becomes the gates'
    # pre-activations and, in place, their activations
    acts = np.matmul(x, w_ih.T * scale, out=_take((n_rows, 4 * hid), dt))
    if b_ih is not None:
        acts += (b_ih + b_hh) * scale
    whh = w_hh.T * scale                                    # (P, 4H), sigmoid rows halved
    cs = _take((n_rows, hid), dt)
    out = np.empty((n_rows, h0.shape[1]), dt)
    tcs = _take((n_rows, hid), dt) if keep else None
    hraw = _take((n_rows, hid), dt) if w_hr is not None else None
    whr = w_hr.T if w_hr is not None else None
    tmp4 = np.empty((batch, 4 * hid), dt)
    tmp = np.empty((batch, hid), dt)
    tmp_c = np.empty((batch, hid), dt)
    i_, f_, g_, o_ = (slice(k * hid, (k + 1) * hid) for k in range(4))
    for s, n, pieces in plan.steps:
        e = s + n
        hp = _prev(pieces, out, h0)
        cp = _prev(pieces, cs, c0)
        a = acts[s:e]
        t4 = tmp4[:n]
        np.matmul(hp, whh, out=t4)
        a += t4
        np.tanh(a, out=a)
        a *= scale
        a += shift
        cn = cs[s:e]
        np.multiply(a[:, f_], cp, out=cn)
        t = tmp[:n]
        np.multiply(a[:, i_], a[:, g_], out=t)
        cn += t
        tc = tcs[s:e] if keep else tmp_c[:n]
        np.tanh(cn, out=tc)
        if whr is None:
            np.multiply(a[:, o_], tc, out=out[s:e])
        else:
            r = hraw[s:e]
            np.multiply(a[:, o_], tc, out=r)
            np.matmul(r, whr, out=out[s:e])
    finals = (out, out[plan.final], cs[plan.final])
    if keep:
        return finals, (acts, cs, tcs, hraw)
    _give(acts, cs, hraw)
    return finals, None


def _lstm_backward(cache, plan, x, h0, c0, w_ih, w_hh, w_hr, out, g_out, g_h, g_c, needs):
    acts, cs, tcs, hraw = cache
    hid = cs.shape[1]
    i_, f_, g_, o_ = (slice(k * hid, (k + 1) * hid) for k in range(4))
    # Everything that does not depend on the incoming gradients, for all steps at once, in
    # the buffer that then becomes the gates' gradient, step by step:
    # d gates = [dc * g i(1-i), dc * c_prev f(1-f), dc * i (1-g^2), dh * tanh(c) o(1-o)]
    dg = np.subtract(1, acts, out=_take(acts.shape, acts.dtype))
    dg *= acts
    np.multiply(acts[:, g_], acts[:, g_], out=dg[:, g_])
    np.subtract(1, dg[:, g_], out=dg[:, g_])
    dg[:, i_] *= acts[:, g_]
    for d0, d1, src, s0 in plan.segments:
        dg[d0:d1, f_] *= (cs if src else c0)[s0:s0 + d1 - d0]
    dg[:, g_] *= acts[:, i_]
    dg[:, o_] *= tcs
    q = np.multiply(tcs, tcs, out=_take(tcs.shape, tcs.dtype))   # dc/dh: o (1-tanh(c)^2)
    np.subtract(1, q, out=q)
    q *= acts[:, o_]
    dh = g_h.copy()
    dc = g_c.copy()
    dhp = _take(g_out.shape, g_out.dtype) if w_hr is not None else None
    tmp = np.empty_like(dc)
    tmp2 = np.empty_like(dc) if w_hr is not None else None
    for s, n, _ in reversed(plan.steps):
        e = s + n
        dht = dh[:n]
        dht += g_out[s:e]
        if w_hr is not None:
            dhp[s:e] = dht
            dhr = tmp2[:n]
            np.matmul(dht, w_hr, out=dhr)
        else:
            dhr = dht
        dct = dc[:n]
        t = tmp[:n]
        np.multiply(dhr, q[s:e], out=t)
        dct += t
        gd = dg[s:e]
        gd.reshape(n, 4, hid)[:, :3] *= dct[:, None, :]
        gd[:, o_] *= dhr
        dct *= acts[s:e, f_]
        np.matmul(gd, w_hh, out=dht)
    res = dict(x=np.matmul(dg, w_ih) if needs["x"] else None, h0=dh, c0=dc,
               w_ih=np.matmul(dg.T, x) if needs["w_ih"] else None,
               w_hh=_prev_gemm(plan, dg, out, h0) if needs["w_hh"] else None,
               b_ih=dg.sum(0), w_hr=np.matmul(dhp.T, hraw) if dhp is not None else None)
    _give(dg, q, dhp)
    return res


def _gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, plan, keep):
    hid = h0.shape[1]
    dt = x.dtype
    n_rows, batch = x.shape[0], h0.shape[0]
    scale, _ = _gate_vectors(dt, hid, (True, True, False))
    # input part of every step's gates (one GEMM); becomes [r, z, n] in place
    acts = np.matmul(x, w_ih.T * scale, out=_take((n_rows, 3 * hid), dt))
    b_hn = None
    if b_ih is not None:
        b = b_ih.copy()
        b[:2 * hid] += b_hh[:2 * hid]                       # b_hn stays inside r * (...)
        acts += b * scale
        b_hn = b_hh[2 * hid:]
    whh = w_hh.T * scale
    hns = _take((n_rows, hid), dt)
    out = np.empty((n_rows, hid), dt)
    hw = np.empty((batch, 3 * hid), dt)
    tmp = np.empty((batch, hid), dt)
    for s, n, pieces in plan.steps:
        e = s + n
        hp = _prev(pieces, out, h0)
        w = hw[:n]
        np.matmul(hp, whh, out=w)
        hn = hns[s:e]
        if b_hn is not None:
            np.add(w[:, 2 * hid:], b_hn, out=hn)
        else:
            hn[...] = w[:, 2 * hid:]
        a = acts[s:e]
        rz = a[:, :2 * hid]
        rz += w[:, :2 * hid]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        nt = a[:, 2 * hid:]
        t = tmp[:n]
        np.multiply(rz[:, :hid], hn, out=t)
        nt += t
        np.tanh(nt, out=nt)
        o = out[s:e]
        np.subtract(hp, nt, out=o)
        o *= rz[:, hid:]
        o += nt
    if keep:
        return (out, out[plan.final]), (acts, hns)
    _give(acts, hns)
    return (out, out[plan.final]), None


def _gru_backward(cache, plan, x, h0, w_ih, w_hh, out, g_out, g_h, needs):
    acts, hns = cache
    n_rows, hid = hns.shape
    r, z, nn = acts[:, :hid], acts[:, hid:2 * hid], acts[:, 2 * hid:]
    dt = x.dtype
    one_z = np.subtract(1, z, out=_take((n_rows, hid), dt))
    p_n = np.multiply(nn, nn, out=_take((n_rows, hid), dt))   # d n_pre/d h' = (1-z)(1-n^2)
    np.subtract(1, p_n, out=p_n)
    p_n *= one_z
    p_z = _take((n_rows, hid), dt)                          # d z_pre / d h' = (h-n) z(1-z)
    for d0, d1, src, s0 in plan.segments:
        np.subtract((out if src else h0)[s0:s0 + d1 - d0], nn[d0:d1], out=p_z[d0:d1])
    p_z *= z
    p_z *= one_z
    p_r = np.subtract(1, r, out=_take((n_rows, hid), dt))   # d r_pre / d n_pre = hn r(1-r)
    p_r *= r
    p_r *= hns
    dg = _take((n_rows, 3 * hid), dt)                       # hidden side: [dr, dz, d(hw_n)]
    dxn = one_z                                             # (reused) input side: d n_pre
    dh = g_h.copy()
    tmp = np.empty_like(dh)
    for s, n, _ in reversed(plan.steps):
        e = s + n
        dht = dh[:n]
        dht += g_out[s:e]
        xn = dxn[s:e]
        gd = dg[s:e]
        np.multiply(dht, p_n[s:e], out=xn)
        np.multiply(dht, p_z[s:e], out=gd[:, hid:2 * hid])
        np.multiply(xn, p_r[s:e], out=gd[:, :hid])
        np.multiply(xn, r[s:e], out=gd[:, 2 * hid:])
        dht *= z[s:e]
        t = tmp[:n]
        np.matmul(gd, w_hh, out=t)
        dht += t
    g_whh = _prev_gemm(plan, dg, out, h0) if needs["w_hh"] else None
    g_bhh = dg.sum(0)
    dg[:, 2 * hid:] = dxn                                   # now the input side: [dr, dz, dn]
    res = dict(x=np.matmul(dg, w_ih) if needs["x"] else None, h0=dh,
               w_ih=np.matmul(dg.T, x) if needs["w_ih"] else None, w_hh=g_whh,
               b_ih=dg.sum(0), b_hh=g_bhh)
    _give(dg, one_z, p_n, p_z, p_r)
    return res


def _rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, relu, plan):
    out = np.matmul(x, w_ih.T)                              # input part, then in place h
    if b_ih is not None:
        out += b_ih + b_hh
    whh = w_hh.T
    tmp = np.empty_like(h0)
    for s, n, pieces in plan.steps:
        e = s + n
        hp = _prev(pieces, out, h0)
        t = tmp[:n]
        np.matmul(hp, whh, out=t)
        o = out[s:e]
        o += t
        if relu:
            np.maximum(o, 0, out=o)
        else:
            np.tanh(o, out=o)
    return (out, out[plan.final]), ()


def _rnn_backward(plan, x, h0, w_ih, w_hh, out, relu, g_out, g_h, needs):
    dg = _take(out.shape, out.dtype)
    if relu:
        np.greater(out, 0, out=dg)                          # (as 0.0 / 1.0)
    else:
        np.multiply(out, out, out=dg)
        np.subtract(1, dg, out=dg)
    dh = g_h.copy()
    for s, n, _ in reversed(plan.steps):
        e = s + n
        dht = dh[:n]
        dht += g_out[s:e]
        gd = dg[s:e]
        gd *= dht
        np.matmul(gd, w_hh, out=dht)
    res = dict(x=np.matmul(dg, w_ih) if needs["x"] else None, h0=dh,
               w_ih=np.matmul(dg.T, x) if needs["w_ih"] else None,
               w_hh=_prev_gemm(plan, dg, out, h0) if needs["w_hh"] else None,
               b_ih=dg.sum(0))
    _give(dg)
    return res


def _input_names(mode, has_bias, has_proj):
    names = ["x", "h0"] + (["c0"] if mode == _LSTM else []) + ["w_ih", "w_hh"]
    if has_bias:
        names += ["b_ih", "b_hh"]
    if has_proj:
        names.append("w_hr")
    return names


class RNNLayerOp(Op):
    """One direction of one recurrent layer over a packed sequence (see the module
    docstring). Inputs, in order: ``x (N, I)``, ``h0 (B, P)``, ``[c0 (B, H)]`` (LSTM),
    ``w_ih``, ``w_hh``, ``[b_ih, b_hh]`` (with bias), ``[w_hr]`` (LSTM with projection).
    Outputs: ``out (N, P)``, ``h_n (B, P)``, ``[c_n (B, H)]``."""

    # save_inputs is set per arity by _layer_op_class (every input is saved: the fast
    # backward reads x, the states and the weights, the create_graph backward recomputes
    # from all); the output sequence is saved too (previous states are read from it).
    save_outputs = (0,)

    def forward(self, *arrays, mode, batch_sizes, reverse, has_bias, has_proj, keep):
        self.mode = mode
        self.names = _input_names(mode, has_bias, has_proj)
        a = dict(zip(self.names, arrays))
        self.batch_sizes = batch_sizes
        self.reverse = reverse
        self.plan = plan = _Plan(batch_sizes, reverse)
        b_ih, b_hh, w_hr = a.get("b_ih"), a.get("b_hh"), a.get("w_hr")
        if mode == _LSTM:
            outs, cache = _lstm_forward(a["x"], a["h0"], a["c0"], a["w_ih"], a["w_hh"], b_ih,
                                        b_hh, w_hr, plan, keep)
        elif mode == _GRU:
            outs, cache = _gru_forward(a["x"], a["h0"], a["w_ih"], a["w_hh"], b_ih, b_hh,
                                       plan, keep)
        else:
            outs, cache = _rnn_forward(a["x"], a["h0"], a["w_ih"], a["w_hh"], b_ih, b_hh,
                                       mode == _RNN_RELU, plan)
        self._cache = cache if keep else None
        return outs

    def _release(self):
        super()._release()
        if self._cache is not None:
            _give(*self._cache)                         # only this node held them
        self._cache = None

    def backward(self, *grads):
        saved = self.saved_tensors                      # (also checks in-place changes)
        n_in = len(self.names)
        if STATE.enabled:                               # create_graph: stay differentiable
            return self._graph_backward(saved[:n_in], grads)
        if self._cache is None:
            raise RuntimeError("RNNLayerOp: the forward ran without keeping what backward "
                               "needs (it ran with no input requiring grad)")
        a = {k: t._data for k, t in zip(self.names, saved)}
        out = saved[n_in]._data
        needs = dict(zip(self.names, self.needs_input_grad))
        needs.setdefault("w_hr", False)
        g = [t._data for t in grads]
        plan = self.plan
        if self.mode == _LSTM:
            res = _lstm_backward(self._cache, plan, a["x"], a["h0"], a["c0"], a["w_ih"],
                                 a["w_hh"], a.get("w_hr"), out, g[0], g[1], g[2], needs)
        elif self.mode == _GRU:
            res = _gru_backward(self._cache, plan, a["x"], a["h0"], a["w_ih"], a["w_hh"], out,
                                g[0], g[1], needs)
        else:
            res = _rnn_backward(plan, a["x"], a["h0"], a["w_ih"], a["w_hh"], out,
                                self.mode == _RNN_RELU, g[0], g[1], needs)
        if "b_hh" not in res and needs.get("b_hh"):
            res["b_hh"] = res["b_ih"].copy()                # the same sum for both biases
        return tuple(_wrap(res[k]) if needs[k] and res.get(k) is not None else None
                     for k in self.names)

    def _graph_backward(self, saved, grads):
        """Double-backward path: rebuild the layer from cell ops on aliases of the inputs
        and differentiate that with ``create_graph=True``."""
        from ..autograd import grad as autograd_grad
        needs = self.needs_input_grad
        aliases = [_Alias.apply(t) if need else t for t, need in zip(saved, needs)]
        a = dict(zip(self.names, aliases))
        with enable_grad():
            outs = layer_composite(self.mode, a["x"], a["h0"], a.get("c0"), a["w_ih"],
                                   a["w_hh"], a.get("b_ih"), a.get("b_hh"), a.get("w_hr"),
                                   self.batch_sizes, self.reverse)
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
        wanted = [al for al, need in zip(aliases, needs) if need]
        res = iter(autograd_grad([o for o, _ in pairs], wanted, [g for _, g in pairs],
                                 create_graph=True, allow_unused=True))
        return tuple(next(res) if need else None for need in needs)

    def name(self):
        return "RnnLayerBackward0"


class _Alias(Op):
    """Identity with a node of its own: the capture point for ``_graph_backward``."""

    def forward(self, x):
        return x.view()

    def backward(self, grad):
        return grad


_LAYER_CLASSES = {}


def _layer_op_class(n_inputs):
    cls = _LAYER_CLASSES.get(n_inputs)
    if cls is None:
        cls = type(f"RNNLayerOp{n_inputs}", (RNNLayerOp,),
                   {"save_inputs": tuple(range(n_inputs))})
        _LAYER_CLASSES[n_inputs] = cls
    return cls


def rnn_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse=False):
    """Run one direction of one layer over the packed sequence ``x`` (``(N, I)``, time
    steps of ``batch_sizes`` rows each). Returns ``(out, h_n)`` or, for LSTM,
    ``(out, h_n, c_n)``."""
    has_bias, has_proj = b_ih is not None, w_hr is not None
    inputs = [x, h0] + ([c0] if mode == _LSTM else []) + [w_ih, w_hh]
    if has_bias:
        inputs += [b_ih, b_hh]
    if has_proj:
        inputs.append(w_hr)
    keep = STATE.enabled and any(t.requires_grad for t in inputs)
    return _layer_op_class(len(inputs)).apply(
        *inputs, mode=mode, batch_sizes=tuple(batch_sizes), reverse=reverse,
        has_bias=has_bias, has_proj=has_proj, keep=keep)


def layer_composite(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes,
                    reverse=False):
    """The same computation as ``rnn_layer`` written with the cell ops (a few graph nodes
    per time step; fully differentiable to any order)."""
    from ..nn.functional import linear
    from .shape import cat
    gi_all = linear(x, w_ih, b_ih)
    steps = _steps(batch_sizes, reverse)
    batch = h0.shape[0]
    h, c = h0, c0
    outs = {}
    for s, n in steps:
        gi = gi_all[s:s + n]
        hp = h if n == batch else h[:n]
        if mode == _LSTM:
            hn, cn = lstm_cell(gi, hp, c if n == batch else c[:n], w_hh, b_hh)
            if w_hr is not None:
                hn = linear(hn, w_hr)
            c = cn if n == batch else cat([cn, c[n:]], 0)
        elif mode == _GRU:
            hn = gru_cell(gi, hp, w_hh, b_hh)
        else:
            hn = rnn_cell(gi, hp, w_hh, b_hh, "relu" if mode == _RNN_RELU else "tanh")
        outs[s] = hn
        h = hn if n == batch else cat([hn, h[n:]], 0)
    if outs:
        out = cat([outs[s] for s in sorted(outs)], 0)
    else:
        out = _wrap(np.empty((0, h0.shape[1]), h0._data.dtype))
    return (out, h, c) if mode == _LSTM else (out, h)


def recurrent(mode, x, batch_sizes, hx, cx, weights, num_layers, bidirectional, dropout,
              training, fused=True):
    """A multi-layer (optionally bidirectional) recurrent network over the packed sequence
    ``x``: PyTorch's ``_VF.lstm``/``gru``/``rnn_*`` semantics.

    Args:
        mode: ``"LSTM"``, ``"GRU"``, ``"RNN_TANH"`` or ``"RNN_RELU"``.
        x: ``(N, input_size)`` packed input; ``batch_sizes``: rows per time step.
        hx: ``(num_layers * D, B, H_out)``; cx: ``(num_layers * D, B, H)`` (LSTM) or None.
        weights: per layer and direction, ``(w_ih, w_hh, b_ih, b_hh, w_hr)`` (None where
            absent).
        dropout: applied to each layer's output but the last, when ``training``.
        fused: use the whole-layer primitive (True) or the cell ops (False).
    Returns ``(out (N, D * H_out), h_n, c_n or None)``.
    """
    from .shape import cat, stack
    n_dir = 2 if bidirectional else 1
    layer_input = x
    hs, cs = [], []
    run = rnn_layer if fused else layer_composite
    for layer in range(num_layers):
        outs = []
        for d in range(n_dir):
            k = layer * n_dir + d
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            res = run(mode, layer_input, hx[k], cx[k] if cx is not None else None, w_ih,
                      w_hh, b_ih, b_hh, w_hr, batch_sizes, d == 1)
            outs.append(res[0])
            hs.append(res[1])
            if mode == _LSTM:
                cs.append(res[2])
        layer_output = outs[0] if n_dir == 1 else cat(outs, 1)
        if dropout > 0 and training and layer < num_layers - 1:
            from .dropout import dropout as _dropout
            layer_output = _dropout(layer_output, dropout, True)
        layer_input = layer_output
    return layer_input, stack(hs, 0), (stack(cs, 0) if mode == _LSTM else None)
