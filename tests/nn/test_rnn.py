"""Recurrent layers (RNN, LSTM, GRU) and cells (RNNCell, LSTMCell, GRUCell) against
PyTorch: outputs, final states, and the gradients of the input, the initial states and every
parameter, across layers, directions, layouts, bias, projections, packed sequences and
unbatched inputs; numerical gradient checks (also second order) in float64; module
structure (parameter names and order, repr) and PyTorch's errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracle import assert_close, requires_torch, torch

import ember
from ember.ops import rnn as rnn_ops

enn = ember.nn
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck

T, B, I, H = 4, 3, 3, 5            # sequence length, batch, input and hidden sizes

# (module name, extra constructor kwargs)
KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
KIND_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def copy_params(em, tm):
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def outcome(fn):
    try:
        fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


def _states(out):
    """``(output, h_n)`` or ``(output, (h_n, c_n))`` -> flat list of tensors."""
    o, hid = out
    return [o] + (list(hid) if isinstance(hid, tuple) else [hid])


def _pair(name, kw, dtype=np.float64, **ctor):
    """A torch layer and an ember layer with the same parameters."""
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(I, H, **kw, **ctor).to(tdt)
    em = getattr(enn, name)(I, H, **kw, **ctor, dtype=getattr(ember, tdt.__repr__()[6:]))
    copy_params(em, tm)
    return tm, em


def _compare_run(tm, em, x_np, h_np=None, dtype=np.float64, atol=None, rtol=None):
    """Forward both layers, backpropagate the same random gradients into every output,
    compare outputs, input/state gradients and parameter gradients."""
    tx = torch.tensor(x_np, requires_grad=True)
    ex = ember.tensor(x_np, requires_grad=True)
    th = eh = None
    if h_np is not None:
        if isinstance(h_np, tuple):
            th = tuple(torch.tensor(a, requires_grad=True) for a in h_np)
            eh = tuple(ember.tensor(a, requires_grad=True) for a in h_np)
        else:
            th = torch.tensor(h_np, requires_grad=True)
            eh = ember.tensor(h_np, requires_grad=True)
    touts = _states(tm(tx, th))
    eouts = _states(em(ex, eh))
    kw = dict(atol=atol, rtol=rtol)
    assert_close(eouts, touts, msg="forward", **kw)
    rng = np.random.default_rng(1)
    gs = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in touts]
    torch.autograd.backward(touts, [torch.tensor(g) for g in gs])
    ember.autograd.backward(eouts, [ember.tensor(g) for g in gs])
    assert_close(ex.grad, tx.grad, msg="input grad", **kw)
    if th is not None:
        ths = th if isinstance(th, tuple) else (th,)
        ehs = eh if isinstance(eh, tuple) else (eh,)
        for a, b in zip(ehs, ths):
            assert_close(a.grad, b.grad, msg="state grad", **kw)
    tp, ep = dict(tm.named_parameters()), dict(em.named_parameters())
    assert list(tp) == list(ep)
    for k in tp:
        assert_close(ep[k].grad, tp[k].grad, msg=f"grad of {k}", **kw)


def _h0(name, rng, layers, dirs, batch=B, proj=0, dtype=np.float64):
    shape = (layers * dirs,) + ((batch,) if batch is not None else ()) + (proj or H,)
    h = rng.standard_normal(shape).astype(dtype)
    if name == "LSTM":
        c = rng.standard_normal(shape[:-1] + (H,)).astype(dtype)
        return (h, c)
    return h


# ------------------------------------------------------------------ layers: parity
@requires_torch
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, bias, with_state):
    name, kw = kind
    tm, em = _pair(name, kw, num_layers=num_layers, bidirectional=bidirectional,
                   batch_first=batch_first, bias=bias)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    h = _h0(name, rng, num_layers, 2 if bidirectional else 1) if with_state else None
    _compare_run(tm, em, x, h)


@requires_torch
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_float32_matches_torch(kind, bidirectional):
    name, kw = kind
    tm, em = _pair(name, kw, np.float32, num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    h = _h0(name, rng, 2, 2 if bidirectional else 1, dtype=np.float32)
    _compare_run(tm, em, x, h, np.float32, atol=1e-5, rtol=1e-4)


@requires_torch
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_unbatched_matches_torch(kind, with_state, bidirectional):
    name, kw = kind
    tm, em = _pair(name, kw, num_layers=2, bidirectional=bidirectional, batch_first=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, I))
    h = _h0(name, rng, 2, 2 if bidirectional else 1, batch=None) if with_state else None
    _compare_run(tm, em, x, h)


@requires_torch
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_projection_matches_torch(num_layers, bidirectional, with_state):
    tm, em = _pair("LSTM", {}, num_layers=num_layers, bidirectional=bidirectional,
                   proj_size=2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I))
    h = _h0("LSTM", rng, num_layers, 2 if bidirectional else 1, proj=2) \
        if with_state else None
    _compare_run(tm, em, x, h)


@requires_torch
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_dropout_in_eval_matches_torch(kind):
    name, kw = kind
    tm, em = _pair(name, kw, num_layers=3, dropout=0.5)
    tm.eval()
    em.eval()
    x = np.random.default_rng(0).standard_normal((T, B, I))
    _compare_run(tm, em, x)


@requires_torch
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_dropout_one_in_training_matches_torch(kind):
    # p = 1 is deterministic: every layer after the first sees an all-zero input
    name, kw = kind
    tm, em = _pair(name, kw, num_layers=2, dropout=1.0, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((T, B, I))
    _compare_run(tm, em, x)


def test_dropout_in_training_is_random_and_scaled():
    em = enn.LSTM(I, H, num_layers=2, dropout=0.5, dtype=ember.float64)
    x = ember.tensor(np.random.default_rng(0).standard_normal((T, B, I)))
    em.eval()
    ref = em(x)[0]
    em.train()
    ember.manual_seed(3)
    a = em(x)[0]
    ember.manual_seed(3)
    b = em(x)[0]
    c = em(x)[0]
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())       # seeded: repeatable
    assert not np.allclose(a.detach().numpy(), ref.detach().numpy())    # dropout applied
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())      # fresh masks
    # the first layer is never dropped: a one-layer LSTM ignores dropout
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        one = enn.GRU(I, H, dropout=0.5, dtype=ember.float64)
    one.train()
    r1 = one(x)[0]
    one.eval()
    assert np.array_equal(r1.detach().numpy(), one(x)[0].detach().numpy())


# ------------------------------------------------------------------ packed sequences
@requires_torch
@pytest.mark.parametrize("kind", KINDS + [("LSTM", {"proj_size": 2})],
                         ids=KIND_IDS + ["lstm_proj"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_matches_torch(kind, num_layers, bidirectional, with_state, enforce_sorted):
    name, kw = kind
    tm, em = _pair(name, kw, num_layers=num_layers, bidirectional=bidirectional)
    rng = np.random.default_rng(0)
    lengths = [6, 5, 3, 3, 1] if enforce_sorted else [3, 6, 1, 5, 3]
    x_np = rng.standard_normal((6, 5, I))
    dirs = 2 if bidirectional else 1
    h_np = _h0(name, rng, num_layers, dirs, batch=5, proj=kw.get("proj_size", 0)) \
        if with_state else None
    tx, ex = torch.tensor(x_np, requires_grad=True), ember.tensor(x_np, requires_grad=True)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, enforce_sorted=enforce_sorted)
    ep = enn.utils.rnn.pack_padded_sequence(ex, lengths, enforce_sorted=enforce_sorted)
    th = eh = None
    if h_np is not None:
        hs = h_np if isinstance(h_np, tuple) else (h_np,)
        th = tuple(torch.tensor(a, requires_grad=True) for a in hs)
        eh = tuple(ember.tensor(a, requires_grad=True) for a in hs)
    tout, thid = tm(tp, th if name == "LSTM" or th is None else th[0])
    eout, ehid = em(ep, eh if name == "LSTM" or eh is None else eh[0])
    assert isinstance(eout, enn.utils.rnn.PackedSequence)
    assert_close(eout.data, tout.data)
    assert_close(eout.batch_sizes, tout.batch_sizes)
    assert_close(eout.sorted_indices, tout.sorted_indices)
    assert_close(eout.unsorted_indices, tout.unsorted_indices)
    tpad, tlen = torch.nn.utils.rnn.pad_packed_sequence(tout)
    epad, elen = enn.utils.rnn.pad_packed_sequence(eout)
    touts = [tpad] + (list(thid) if isinstance(thid, tuple) else [thid])
    eouts = [epad] + (list(ehid) if isinstance(ehid, tuple) else [ehid])
    assert_close(eouts, touts)
    assert_close(elen, tlen)
    gs = [rng.standard_normal(tuple(o.shape)) for o in touts]
    torch.autograd.backward(touts, [torch.tensor(g) for g in gs])
    ember.autograd.backward(eouts, [ember.tensor(g) for g in gs])
    assert_close(ex.grad, tx.grad, msg="input grad")
    for a, b in zip(eh or (), th or ()):
        assert_close(a.grad, b.grad, msg="state grad")
    tp_, ep_ = dict(tm.named_parameters()), dict(em.named_parameters())
    for k in tp_:
        assert_close(ep_[k].grad, tp_[k].grad, msg=f"grad of {k}")


@requires_torch
@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_packed_batch_first_matches_torch(name):
    tm, em = _pair(name, {}, batch_first=True, bidirectional=True)
    x_np = np.random.default_rng(0).standard_normal((4, 5, I))
    lengths = ember.tensor([2, 5, 1, 4])
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x_np), torch.tensor([2, 5, 1, 4]),
                                                 batch_first=True, enforce_sorted=False)
    ep = enn.utils.rnn.pack_padded_sequence(ember.tensor(x_np), lengths, batch_first=True,
                                            enforce_sorted=False)
    tout, thid = tm(tp)
    eout, ehid = em(ep)
    assert_close(eout.data, tout.data)
    assert_close(ehid, thid)
    assert_close(enn.utils.rnn.pad_packed_sequence(eout, batch_first=True)[0],
                 torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=True)[0])


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_layer_equals_cell_composition(mode, reverse):
    """The whole-layer primitive and the loop of cell ops agree, values and gradients, on
    a packed batch whose batch size changes over time."""
    rng = np.random.default_rng(0)
    g = {"LSTM": 4, "GRU": 3}.get(mode, 1) * H
    bs = [4, 4, 3, 1, 1]
    mk = lambda *s: ember.tensor(rng.uniform(-0.5, 0.5, s), requires_grad=True)
    args = [mk(sum(bs), I), mk(4, H), mk(4, H) if mode == "LSTM" else None,
            mk(g, I), mk(g, H), mk(g), mk(g), None]
    res = []
    for fn in (rnn_ops.rnn_layer, rnn_ops.layer_composite):
        outs = fn(mode, *args, bs, reverse)
        loss = sum((o * o).sum() * (k + 1) for k, o in enumerate(outs))
        grads = ember.autograd.grad(loss, [a for a in args if a is not None])
        res.append([o.detach().numpy() for o in outs] + [gr.numpy() for gr in grads])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@requires_torch
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_double_backward_matches_torch(kind):
    name, kw = kind
    tm, em = _pair(name, kw, num_layers=2, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((3, 2, I))
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    to, eo = tm(tx)[0], em(ex)[0]
    (tg,) = torch.autograd.grad((to ** 2).sum(), tx, create_graph=True)
    (eg,) = ember.autograd.grad((eo ** 2).sum(), ex, create_graph=True)
    assert_close(eg, tg)
    tgg = torch.autograd.grad((tg ** 2).sum(), [tx] + list(tm.parameters()))
    egg = ember.autograd.grad((eg ** 2).sum(), [ex] + list(em.parameters()))
    assert_close(list(egg), list(tgg))


# ------------------------------------------------------------------ numerical gradients
def _layer_fn(mode, bs, num_layers, bidirectional, has_c, proj=False):
    """``f(x, h0, [c0], *weights)`` running ``recurrent`` (for gradcheck)."""
    dirs = 2 if bidirectional else 1
    per = 5 if proj else 4

    def f(x, h0, *rest):
        c0 = rest[0] if has_c else None
        w = rest[1:] if has_c else rest
        weights = [tuple(w[k * per:k * per + 4]) + ((w[k * per + 4],) if proj else (None,))
                   for k in range(num_layers * dirs)]
        out, hn, cn = rnn_ops.recurrent(mode, x, bs, h0, c0, weights, num_layers,
                                        bidirectional, 0.0, False)
        return (out, hn, cn) if has_c else (out, hn)
    return f


@pytest.mark.parametrize("mode,bidirectional,bs,proj,second_order", [
    ("LSTM", True, [2, 1], False, False),
    ("LSTM", False, [2, 1], True, True),
    ("GRU", True, [2, 1], False, False),
    ("GRU", False, [2, 2, 1], False, True),
    ("RNN_TANH", True, [2, 2], False, True),
    ("RNN_RELU", False, [2, 2, 1], False, True),
])
def test_layer_gradcheck(mode, bidirectional, bs, proj, second_order):
    rng = np.random.default_rng(0)
    g = {"LSTM": 4, "GRU": 3}.get(mode, 1) * 2
    hid, out_size = 2, (1 if proj else 2)
    dirs = 2 if bidirectional else 1
    mk = lambda *s: ember.tensor(rng.uniform(-0.8, 0.8, s), requires_grad=True)
    inputs = [mk(sum(bs), 2), mk(dirs, bs[0], out_size)]
    if mode == "LSTM":
        inputs.append(mk(dirs, bs[0], hid))
    for _ in range(dirs):
        inputs += [mk(g, 2), mk(g, out_size), mk(g), mk(g)] + ([mk(1, hid)] if proj else [])
    f = _layer_fn(mode, bs, 1, bidirectional, mode == "LSTM", proj)
    assert gradcheck(f, inputs)
    if second_order:                    # (the double-backward path; slow, so the small cases)
        assert gradgradcheck(f, inputs)


def test_two_layer_gradcheck():
    rng = np.random.default_rng(1)
    mk = lambda *s: ember.tensor(rng.uniform(-0.8, 0.8, s), requires_grad=True)
    inputs = [mk(4, 2), mk(2, 2, 2)]
    for layer in range(2):
        inputs += [mk(6, 2), mk(6, 2), mk(6), mk(6)]
    assert gradcheck(_layer_fn("GRU", [2, 2], 2, False, False), inputs)


# ------------------------------------------------------------------ cells
CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
         ("GRUCell", {})]
CELL_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


@requires_torch
@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cell_matches_torch(cell, batched, with_state, bias, dtype):
    name, kw = cell
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    tm = getattr(torch.nn, name)(I, H, bias=bias, **kw).to(tdt)
    em = getattr(enn, name)(I, H, bias=bias, **kw, dtype=ember.float64
                            if dtype == np.float64 else ember.float32)
    copy_params(em, tm)
    rng = np.random.default_rng(0)
    lead = (B,) if batched else ()
    x = rng.standard_normal(lead + (I,)).astype(dtype)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    th = eh = None
    if with_state:
        n = 2 if name == "LSTMCell" else 1
        hs = [rng.standard_normal(lead + (H,)).astype(dtype) for _ in range(n)]
        th = [torch.tensor(a, requires_grad=True) for a in hs]
        eh = [ember.tensor(a, requires_grad=True) for a in hs]
    tout = tm(tx, None if th is None else (tuple(th) if n == 2 else th[0]))
    eout = em(ex, None if eh is None else (tuple(eh) if n == 2 else eh[0]))
    touts = list(tout) if isinstance(tout, tuple) else [tout]
    eouts = list(eout) if isinstance(eout, tuple) else [eout]
    assert_close(eouts, touts)
    gs = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in touts]
    torch.autograd.backward(touts, [torch.tensor(g) for g in gs])
    ember.autograd.backward(eouts, [ember.tensor(g) for g in gs])
    assert_close(ex.grad, tx.grad)
    for a, b in zip(eh or (), th or ()):
        assert_close(a.grad, b.grad)
    for (k, p), (_, q) in zip(em.named_parameters(), tm.named_parameters()):
        assert_close(p.grad, q.grad, msg=k)


@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_gradcheck_and_gradgradcheck(cell, bias):
    name, kw = cell
    em = getattr(enn, name)(2, 2, bias=bias, **kw, dtype=ember.float64)
    rng = np.random.default_rng(0)
    mk = lambda *s: ember.tensor(rng.uniform(-0.8, 0.8, s), requires_grad=True)
    x, h, c = mk(2, 2), mk(2, 2), mk(2, 2)
    params = [p.detach().requires_grad_() for p in em.parameters()]

    def f(x, h, c, *ps):
        w_ih, w_hh = ps[0], ps[1]
        b_ih, b_hh = (ps[2], ps[3]) if bias else (None, None)
        gi = enn.functional.linear(x, w_ih, b_ih)
        if name == "LSTMCell":
            return rnn_ops.lstm_cell(gi, h, c, w_hh, b_hh)
        if name == "GRUCell":
            return rnn_ops.gru_cell(gi, h, w_hh, b_hh)
        return rnn_ops.rnn_cell(gi, h, w_hh, b_hh, kw.get("nonlinearity", "tanh"))
    inputs = [x, h, c] + params
    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


# ------------------------------------------------------------------ module structure
CTORS = [
    ("RNN", dict()), ("RNN", dict(num_layers=2, nonlinearity="relu", bias=False,
                                  batch_first=True, dropout=0.5, bidirectional=True)),
    ("LSTM", dict(num_layers=2, batch_first=True)), ("LSTM", dict(proj_size=2)),
    ("LSTM", dict(num_layers=2, proj_size=3, bidirectional=True, bias=False)),
    ("GRU", dict(num_layers=3, dropout=0.25)), ("GRU", dict(bidirectional=True)),
]


@requires_torch
@pytest.mark.parametrize("name,kw", CTORS)
def test_structure_matches_torch(name, kw):
    tm = getattr(torch.nn, name)(I, H, **kw)
    em = getattr(enn, name)(I, H, **kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert [tuple(p.shape) for p in em.parameters()] == \
        [tuple(p.shape) for p in tm.parameters()]
    assert em._flat_weights_names == tm._flat_weights_names
    assert [[tuple(p.shape) for p in ws] for ws in em.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in tm.all_weights]
    assert [w is p for w, p in zip(em._flat_weights, em.parameters())] == \
        [True] * len(em._flat_weights)
    for attr in ("mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                 "dropout", "bidirectional", "proj_size"):
        assert getattr(em, attr) == getattr(tm, attr), attr
    em.flatten_parameters()                                    # a no-op, as on CPU


@requires_torch
@pytest.mark.parametrize("name,kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu",
                                                                    "bias": False}),
                                     ("LSTMCell", {}), ("GRUCell", {"bias": False})])
def test_cell_structure_matches_torch(name, kw):
    tm = getattr(torch.nn, name)(I, H, **kw)
    em = getattr(enn, name)(I, H, **kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert [tuple(p.shape) for p in em.parameters()] == \
        [tuple(p.shape) for p in tm.parameters()]


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_reset_parameters_distribution(name):
    hidden = 16
    m = getattr(enn, name)(8, hidden)
    bound = 1 / np.sqrt(hidden)
    vals = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert vals.min() >= -bound and vals.max() <= bound
    assert vals.min() < -0.9 * bound and vals.max() > 0.9 * bound     # spread over the range
    assert abs(vals.mean()) < 0.1 * bound
    before = [p.detach().numpy().copy() for p in m.parameters()]
    m.reset_parameters()
    assert all(not np.array_equal(a, p.detach().numpy()) for a, p in zip(before, m.parameters()))


def test_deepcopy_and_pickle_keep_working():
    import copy
    import pickle
    m = enn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=2)
    x = ember.randn(T, B, I)
    ref = m(x)[0].detach().numpy()
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert repr(clone) == repr(m)
        np.testing.assert_array_equal(clone(x)[0].detach().numpy(), ref)
        with ember.no_grad():
            clone.weight_ih_l0.zero_()                      # a copy, not shared
    np.testing.assert_array_equal(m(x)[0].detach().numpy(), ref)


def test_device_dtype_and_conversion():
    m = enn.LSTM(I, H, num_layers=2, dtype=ember.float64)
    assert all(p.dtype == ember.float64 for p in m.parameters())
    m.float()
    assert all(p.dtype == ember.float32 for p in m.parameters())
    out, (h, c) = m(ember.randn(T, B, I))
    assert out.dtype == h.dtype == c.dtype == ember.float32
    assert enn.GRU(I, H, device="cpu").weight_ih_l0.device.type == "cpu"


# ------------------------------------------------------------------ behaviour
def test_output_shapes_and_layouts():
    m = enn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True, proj_size=2)
    out, (h, c) = m(ember.randn(B, T, I))
    assert tuple(out.shape) == (B, T, 4) and tuple(h.shape) == (4, B, 2)
    assert tuple(c.shape) == (4, B, H)
    # forward half of the last step / reverse half of the first step are the final states
    assert np.allclose(out[:, -1, :2].detach().numpy(), h[2].detach().numpy())
    assert np.allclose(out[:, 0, 2:].detach().numpy(), h[3].detach().numpy())


@requires_torch
def test_empty_batch_matches_torch():
    tm, em = _pair("LSTM", {}, num_layers=2)
    x = np.zeros((T, 0, I))
    tout, (th, tc) = tm(torch.tensor(x))
    eout, (eh, ec) = em(ember.tensor(x))
    assert tuple(eout.shape) == tuple(tout.shape)
    assert tuple(eh.shape) == tuple(th.shape) and tuple(ec.shape) == tuple(tc.shape)


def test_no_grad_forward_and_retain_graph():
    m = enn.GRU(I, H, dtype=ember.float64)
    x = ember.tensor(np.random.default_rng(0).standard_normal((T, B, I)), requires_grad=True)
    with ember.no_grad():
        out, h = m(x)
    assert not out.requires_grad and out.grad_fn is None
    out, h = m(x)
    loss = out.sum() + h.sum()
    loss.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1, rtol=1e-12)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_inplace_change_of_weight_is_detected():
    m = enn.LSTM(I, H)
    out, _ = m(ember.randn(T, B, I))
    with ember.no_grad():
        m.weight_hh_l0.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


# ------------------------------------------------------------------ errors
@requires_torch
@pytest.mark.parametrize("name,args,kw", [
    ("LSTM", (4, 5), dict(proj_size=5)),
    ("LSTM", (4, 5), dict(proj_size=-1)),
    ("LSTM", (4, 5), dict(dropout=2)),
    ("LSTM", (4, 5), dict(dropout=True)),
    ("LSTM", (4, 5.0), {}),
    ("LSTM", (4.0, 5), {}),
    ("LSTM", (0, 5), {}),
    ("LSTM", (4, 0), {}),
    ("LSTM", (4, 5), dict(num_layers=0)),
    ("LSTM", (4, 5), dict(bias=1)),
    ("LSTM", (4, 5), dict(batch_first=None)),
    ("GRU", (4, 5), dict(proj_size=2)),
    ("RNN", (4, 5), dict(proj_size=2)),
    ("RNN", (4, 5), dict(nonlinearity="sigmoid")),
    ("RNN", (4, 5, 1, "relu"), {}),
])
def test_constructor_errors_match_torch(name, args, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert outcome(lambda: getattr(enn, name)(*args, **kw)) == \
            outcome(lambda: getattr(torch.nn, name)(*args, **kw))


@requires_torch
def test_dropout_warning_matches_torch():
    for lib in (torch.nn, enn):
        with pytest.warns(UserWarning) as rec:
            lib.LSTM(4, 5, dropout=0.5)
        msgs = [str(w.message) for w in rec]
        if lib is torch.nn:
            expected = msgs
    assert msgs == expected


def _f(shape, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


LAYER_ERRORS = [
    ("LSTM", dict(num_layers=2), _f((3, 2, 4)), (_f((1, 2, 5)), _f((2, 2, 5)))),
    ("LSTM", dict(num_layers=2), _f((3, 2, 4)), (_f((2, 2, 5)), _f((2, 2, 6)))),
    ("LSTM", dict(num_layers=2), _f((3, 2, 4)), (_f((2, 5)), _f((2, 5)))),
    ("LSTM", dict(), _f((3, 4)), (_f((1, 2, 5)), _f((1, 2, 5)))),
    ("LSTM", dict(proj_size=2), _f((3, 2, 4)), (_f((1, 2, 5)), _f((1, 2, 5)))),
    ("LSTM", dict(), _f((3, 2, 4), np.float64), None),
    ("LSTM", dict(), _f((3, 2, 3)), None),
    ("LSTM", dict(), _f((3, 2, 4, 1)), None),
    ("LSTM", dict(), _f((0, 2, 4)), None),
    ("GRU", dict(), _f((3, 2, 4)), _f((2, 5))),
    ("GRU", dict(), _f((3, 4)), _f((1, 2, 5))),
    ("GRU", dict(), _f((3, 4)), _f((2, 5))),
    ("GRU", dict(), _f((3, 4, 4, 4)), None),
    ("GRU", dict(batch_first=True), _f((3, 2, 4)), _f((1, 2, 5))),
    ("RNN", dict(), _f((3, 2, 4, 1)), None),
    ("RNN", dict(), _f((3, 2, 4)), _f((1, 3, 5))),
    ("RNN", dict(bidirectional=True), _f((3, 2, 4)), _f((1, 2, 5))),
    ("RNN", dict(), _f((2,)), None),
]


@requires_torch
@pytest.mark.parametrize("name,kw,x,h", LAYER_ERRORS)
def test_forward_errors_match_torch(name, kw, x, h):
    tm = getattr(torch.nn, name)(4, 5, **kw)
    em = getattr(enn, name)(4, 5, **kw)
    tconv = (lambda a: tuple(torch.tensor(v) for v in a)) if isinstance(h, tuple) else \
        torch.tensor
    econv = (lambda a: tuple(ember.tensor(v) for v in a)) if isinstance(h, tuple) else \
        ember.tensor
    res = outcome(lambda: em(ember.tensor(x), None if h is None else econv(h)))
    assert res != "ok"
    assert res == outcome(lambda: tm(torch.tensor(x), None if h is None else tconv(h)))


CELL_ERRORS = [
    ("LSTMCell", _f((3, 3)), None),
    ("LSTMCell", _f((3, 4)), (_f((2, 5)), _f((3, 5)))),
    ("LSTMCell", _f((3, 4)), (_f((3, 6)), _f((3, 5)))),
    ("LSTMCell", _f((3, 4)), (_f((3, 5)), _f((3, 6)))),
    ("LSTMCell", _f((3, 4)), (_f((3, 5)), _f((2, 5)))),
    ("LSTMCell", _f((4,)), (_f((1, 5)), _f((1, 5)))),
    ("LSTMCell", _f((3, 4, 1)), None),
    ("LSTMCell", _f((3, 4)), (_f((3, 5, 1)), _f((3, 5)))),
    ("LSTMCell", _f((3, 4), np.float64), None),
    ("GRUCell", _f((3, 4)), _f((2, 5))),
    ("GRUCell", _f((3, 4)), _f((3, 6))),
    ("GRUCell", _f((3, 3)), None),
    ("GRUCell", _f((3, 4, 3)), None),
    ("GRUCell", _f((3, 4)), _f((3, 4, 3))),
    ("RNNCell", _f((3, 4, 3)), None),
    ("RNNCell", _f((3, 4)), _f((3, 4, 3))),
    ("RNNCell", _f((3, 3)), None),
]


@requires_torch
@pytest.mark.parametrize("name,x,h", CELL_ERRORS)
def test_cell_errors_match_torch(name, x, h):
    tm, em = getattr(torch.nn, name)(4, 5), getattr(enn, name)(4, 5)
    tconv = (lambda a: tuple(torch.tensor(v) for v in a)) if isinstance(h, tuple) else \
        torch.tensor
    econv = (lambda a: tuple(ember.tensor(v) for v in a)) if isinstance(h, tuple) else \
        ember.tensor
    res = outcome(lambda: em(ember.tensor(x), None if h is None else econv(h)))
    assert res != "ok"
    assert res == outcome(lambda: tm(torch.tensor(x), None if h is None else tconv(h)))


@requires_torch
def test_unknown_cell_nonlinearity_matches_torch():
    x = np.zeros((2, 4), np.float32)
    assert outcome(lambda: enn.RNNCell(4, 5, nonlinearity="foo")(ember.tensor(x))) == \
        outcome(lambda: torch.nn.RNNCell(4, 5, nonlinearity="foo")(torch.tensor(x)))


def test_state_dtype_mismatch_raises():
    m = enn.GRU(4, 5)
    with pytest.raises(RuntimeError, match="same dtype"):
        m(ember.zeros(3, 2, 4), ember.zeros(1, 2, 5, dtype=ember.float64))
