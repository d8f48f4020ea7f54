"""nn.Module mechanics, Parameter/Buffer and the containers, against PyTorch.

Most tests build the same architecture with both libraries (``L`` is ``ember`` or ``torch``)
and compare what the mechanics produce: state-dict keys and order, parameter/buffer/module
names, printed structure (with 'torch' replaced by 'ember'), hook call sequences and their
effect on values and gradients, and error types and messages.
"""
from __future__ import annotations

import copy
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from oracle import assert_close, requires_torch, torch

import ember

enn = ember.nn


def libs():
    return [ember, torch] if torch is not None else [ember]


def arr(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape).astype(dtype)


def T(L, a, requires_grad=False):
    """An ``L`` tensor holding a copy of the array ``a``."""
    t = L.tensor(np.array(a, copy=True))
    return t.requires_grad_() if requires_grad else t


def same_params(em, tm):
    """Copy the parameters/buffers of torch module ``tm`` into ember module ``em``."""
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


# ------------------------------------------------------------------ architectures
def arch_mlp(L):
    nn = L.nn
    return nn.Sequential(nn.Linear(4, 8), nn.Flatten(), nn.Identity(), nn.Linear(8, 2))


def arch_nested(L):
    nn = L.nn

    class Block(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.fc = nn.Linear(n, n)
            self.register_buffer("running", L.zeros(n))
            self.register_buffer("scratch", L.zeros(2), persistent=False)
            self.register_buffer("absent", None)
            self.skip = nn.Identity()

        def forward(self, x):
            return self.fc(x) + self.skip(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(L.ones(1))
            self.blocks = nn.ModuleList([Block(3), Block(3)])
            self.heads = nn.ModuleDict(OrderedDict([("b", nn.Linear(3, 1, bias=False)),
                                                    ("a", nn.Identity())]))
            self.seq = nn.Sequential(OrderedDict([("flat", nn.Flatten()),
                                                  ("out", nn.Linear(3, 2))]))
            self.register_parameter("unused", None)

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return self.seq(self.heads["a"](x * self.scale))

    return Net()


def arch_lists(L):
    nn = L.nn

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)]
                                        + [nn.Linear(2, 3), nn.Identity(), nn.Identity()])
            self.plist = nn.ParameterList([nn.Parameter(L.ones(2, 3)), L.zeros(4),
                                           nn.Parameter(L.ones(1, dtype=L.float64))])
            self.pdict = nn.ParameterDict({"w": nn.Parameter(L.ones(2)), "a": L.zeros(3, 1)})
            self.empty = nn.ModuleList()
            self.bil = nn.Bilinear(2, 3, 4)
            self.unf = nn.Unflatten(1, (2, 3))
            self.nob = nn.Linear(5, 1, bias=False)

    return Holder()


ARCHS = [arch_mlp, arch_nested, arch_lists]


@requires_torch
@pytest.mark.parametrize("arch", ARCHS)
def test_structure_matches_torch(arch):
    e, t = arch(ember), arch(torch)
    assert repr(e) == repr(t).replace("torch", "ember")
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in e.named_parameters(prefix="m", recurse=False)] == \
        [n for n, _ in t.named_parameters(prefix="m", recurse=False)]
    assert [tuple(p.shape) for p in e.parameters()] == [tuple(p.shape) for p in t.parameters()]
    assert dict(e.state_dict()._metadata) == dict(t.state_dict()._metadata)
    for (k, v), (_, tv) in zip(e.state_dict().items(), t.state_dict().items()):
        assert v.dtype.name == str(tv.dtype).replace("torch.", ""), k
        assert not v.requires_grad and v.grad_fn is None


@requires_torch
@pytest.mark.parametrize("arch,shape", [(arch_mlp, (5, 4)), (arch_nested, (2, 3))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_dict_round_trip_and_outputs(arch, shape, dtype):
    t = arch(torch).to(getattr(torch, np.dtype(dtype).name))
    e = arch(ember).to(getattr(ember, np.dtype(dtype).name))
    # torch -> ember (NumPy arrays), then compare outputs and gradients
    result = e.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    x = arr(*shape, dtype=dtype)
    xe, xt = T(ember, x, True), T(torch, x, True)
    ye, yt = e(xe), t(xt)
    assert_close(ye, yt)
    g = arr(*yt.shape, seed=1, dtype=dtype)
    ye.backward(T(ember, g))
    yt.backward(T(torch, g))
    assert_close(xe.grad, xt.grad)
    for (n, pe), (_, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert_close(pe.grad, pt.grad, msg=n)
    # ember -> torch: perturb ember's weights, load them into a fresh torch model
    with ember.no_grad():
        for p in e.parameters():
            p.mul_(1.5)
    t2 = arch(torch).to(getattr(torch, np.dtype(dtype).name))
    t2.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                        for k, v in e.state_dict().items()})
    assert_close(e(T(ember, x)), t2(T(torch, x)))


@requires_torch
def test_load_torch_state_dict_directly():
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    e = enn.Sequential(enn.Linear(3, 4), enn.Linear(4, 2))
    e.load_state_dict(t.state_dict())          # torch tensors convert through __array__
    x = arr(2, 3)
    assert_close(e(T(ember, x)), t(T(torch, x)))


def test_state_dict_values_share_memory_and_keep_vars():
    m = enn.Linear(3, 2)
    sd = m.state_dict()
    assert type(sd) is OrderedDict
    assert not isinstance(sd["weight"], enn.Parameter) and not sd["weight"].requires_grad
    assert np.shares_memory(sd["weight"].numpy(), m.weight.detach().numpy())
    kv = m.state_dict(keep_vars=True)
    assert kv["weight"] is m.weight and kv["bias"] is m.bias
    pre = m.state_dict(prefix="net.")
    assert list(pre) == ["net.weight", "net.bias"]
    dest = OrderedDict()
    assert m.state_dict(destination=dest) is dest and list(dest) == ["weight", "bias"]


@requires_torch
def test_load_state_dict_errors_match_torch():
    def run(L, sd_fn, **kw):
        m = L.nn.Linear(4, 2)
        try:
            r = m.load_state_dict(sd_fn(L), **kw)
            return ("ok", list(r.missing_keys), list(r.unexpected_keys), repr(r))
        except Exception as e:  # noqa: BLE001 - the exception is what is compared
            return (type(e).__name__, str(e).replace("torch", "ember"))

    cases = [
        (lambda L: {"weight": L.zeros(3, 4)}, {}),
        (lambda L: {"weight": L.zeros(3, 4), "bias": L.zeros(2)}, {}),
        (lambda L: {"weight": L.zeros(2, 4), "foo": L.zeros(1), "weight.x": L.zeros(1)}, {}),
        (lambda L: {"weight": L.zeros(2, 4), "foo": L.zeros(1)}, {"strict": False}),
        (lambda L: {"weight": L.zeros(3, 4)}, {"strict": False}),
        (lambda L: [1], {}),
        (lambda L: {"weight": L.zeros(2, 4), "bias": [1.0, 2.0]}, {}),
    ]
    for sd_fn, kw in cases:
        assert run(ember, sd_fn, **kw) == run(torch, sd_fn, **kw)


def test_load_state_dict_in_place_numpy_and_assign():
    m = enn.Linear(2, 2)
    w = m.weight
    v0 = w._version
    m.load_state_dict({"weight": np.ones((2, 2)), "bias": np.arange(2.0)})  # float64 -> f32
    assert m.weight is w and w.dtype is ember.float32 and w._version > v0
    np.testing.assert_array_equal(w.detach().numpy(), np.ones((2, 2), np.float32))
    np.testing.assert_array_equal(m.bias.detach().numpy(), [0, 1])
    # assign=True installs the given tensors (as Parameters with the old requires_grad)
    new_w = ember.tensor(np.full((2, 2), 3.0, np.float32))
    m.bias.requires_grad_(False)
    m.load_state_dict({"weight": new_w, "bias": ember.zeros(2)}, assign=True)
    assert isinstance(m.weight, enn.Parameter) and m.weight is not w
    assert np.shares_memory(m.weight.detach().numpy(), new_w.numpy())
    assert m.weight.requires_grad and not m.bias.requires_grad
    # a 1-element 1-D checkpoint value loads into a 0-d parameter (old checkpoints)
    s = enn.Module()
    s.p = enn.Parameter(ember.tensor(0.0))
    s.load_state_dict({"p": np.array([5.0])})
    assert s.p.item() == 5.0


def test_extra_state_and_hooks_of_state_dict():
    class WithExtra(enn.Module):
        def __init__(self):
            super().__init__()
            self.fc = enn.Linear(1, 1)
            self.value = 7

        def get_extra_state(self):
            return {"value": self.value}

        def set_extra_state(self, state):
            self.value = state["value"]

    m = enn.Sequential(WithExtra())
    sd = m.state_dict()
    assert list(sd) == ["0._extra_state", "0.fc.weight", "0.fc.bias"]   # own state first
    sd["0._extra_state"] = {"value": 9}
    m.load_state_dict(sd)
    assert m[0].value == 9
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "0._extra_state"'):
        m.load_state_dict({k: v for k, v in sd.items() if "extra" not in k})

    calls = []
    m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append(("pre", prefix)))
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: calls.append(("post", len(sd))))
    m.register_load_state_dict_post_hook(lambda mod, keys: calls.append(("load", keys)))
    m.state_dict()
    assert calls == [("pre", ""), ("post", 3)]
    m.load_state_dict(sd)
    assert calls[-1][0] == "load" and calls[-1][1].missing_keys == []


# ------------------------------------------------------------------ registration rules
@requires_torch
def test_registration_errors_match_torch():
    def cases(L):
        nn = L.nn
        m = nn.Linear(4, 2)
        return [
            lambda: setattr(m, "weight", L.zeros(2, 4)),
            lambda: setattr(m, "fc", nn.Linear(1, 1)) or setattr(m, "fc", 3),
            lambda: m.register_parameter("a.b", None),
            lambda: m.register_parameter("", None),
            lambda: m.register_parameter(1, None),
            lambda: m.register_parameter("x", L.zeros(1)),
            lambda: m.register_parameter("in_features", None),
            lambda: m.register_parameter("y", nn.Parameter(L.ones(1)) * 2),
            lambda: m.register_buffer("weight", None),
            lambda: m.register_buffer("x", 3),
            lambda: m.register_buffer("a.b", None),
            lambda: m.register_buffer("", None),
            lambda: m.add_module("weight", nn.Linear(1, 1)),
            lambda: m.add_module("a.b", None),
            lambda: m.add_module("", None),
            lambda: m.add_module("x", 3),
            lambda: m.add_module(3, None),
            lambda: m.get_submodule("a"),
            lambda: m.get_submodule("weight"),
            lambda: m.get_parameter("a"),
            lambda: m.get_parameter("weight.x"),
            lambda: m.get_parameter("in_features"),
            lambda: m.get_buffer("weight"),
            lambda: m.zzz,
            lambda: m.to(L.int64),
            lambda: m.train("yes"),
            lambda: nn.Module()(1),
            lambda: nn.Module(3),
            lambda: nn.Module(foo=3),
            lambda: nn.Sequential()[3],
            lambda: nn.Sequential(nn.Identity())[-2],
            lambda: nn.ModuleList()[0],
            lambda: nn.ModuleList().extend(3),
            lambda: nn.Sequential() + nn.ModuleList(),
            lambda: nn.Sequential(nn.Identity()) * 0,
            lambda: nn.Sequential().insert(3, nn.Identity()),
            lambda: nn.ParameterList().extend(L.ones(2)),
            lambda: nn.ParameterList()(1),
            lambda: nn.ParameterDict()[1],
            lambda: nn.ModuleDict().update(3),
            lambda: nn.ModuleDict([("a", nn.Identity(), 3)]),
            lambda: nn.Unflatten(1, 3),
            lambda: nn.Unflatten(1, (2, "a")),
        ]

    def outcome(fn):
        try:
            fn()
            return "ok"
        except Exception as e:  # noqa: BLE001 - the exception is what is compared
            return type(e).__name__, str(e).replace("torch", "ember")

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


def test_setattr_rules():
    m = enn.Linear(2, 2)
    m.bias = None                                  # a registered slot may hold None
    assert "bias" in m._parameters and m.bias is None and "bias" not in m.state_dict()
    m.bias = enn.Parameter(ember.zeros(2))
    assert list(m.state_dict()) == ["weight", "bias"]
    m.extra = enn.Linear(1, 1)                     # a module -> _modules
    assert "extra" in m._modules and "extra" not in m.__dict__
    m.extra = None
    assert m._modules["extra"] is None and list(m.children()) == []
    m.plain = 3
    assert m.__dict__["plain"] == 3
    m.plain = enn.Parameter(ember.ones(1))         # replaces the plain attribute
    assert "plain" not in m.__dict__ and "plain" in m._parameters
    m.buf = enn.Buffer(ember.ones(2), persistent=False)
    assert "buf" in m._buffers and "buf" in m._non_persistent_buffers_set
    assert isinstance(m.buf, ember.Tensor) and not isinstance(m.buf, enn.Parameter)
    m.buf = ember.zeros(3)                         # a registered buffer takes a tensor
    assert tuple(m._buffers["buf"].shape) == (3,) and "buf" not in m.state_dict()
    del m.plain, m.buf, m.extra
    assert "plain" not in m._parameters and "buf" not in m._buffers
    assert "buf" not in m._non_persistent_buffers_set and "extra" not in m._modules
    with pytest.raises(AttributeError):
        del m.nothing

    class Early(enn.Module):
        def __init__(self):
            self.w = enn.Parameter(ember.ones(1))
    with pytest.raises(AttributeError, match="cannot assign parameters before Module"):
        Early()


def test_dir_and_getters():
    m = enn.Sequential(enn.Linear(2, 3))
    m.register_buffer("b", ember.zeros(1))
    d = dir(m)
    assert "b" in d and "forward" in d and "0" not in d and d == sorted(d)
    assert "weight" in dir(m[0]) and "bias" in dir(m[0])
    assert m.get_submodule("0") is m[0] and m.get_submodule("") is m
    assert m.get_parameter("0.weight") is m[0].weight
    assert m.get_buffer("b") is m.b
    new = enn.Linear(2, 3)
    m.set_submodule("0", new)
    assert m[0] is new
    with pytest.raises(AttributeError):
        m.set_submodule("zz", enn.Identity(), strict=True)


# ------------------------------------------------------------------ iteration
@requires_torch
def test_shared_parameters_deduplicated_like_torch():
    def build(L):
        nn = L.nn
        shared = nn.Linear(2, 2)
        m = nn.Sequential(shared, nn.ReLU() if hasattr(nn, "ReLU") else nn.Identity(), shared)
        m.add_module("tied", nn.Linear(2, 2))
        m.tied.weight = shared.weight
        return m

    e, t = build(ember), build(torch)
    for kw in ({}, {"remove_duplicate": False}):
        assert [n for n, _ in e.named_parameters(**kw)] == \
            [n for n, _ in t.named_parameters(**kw)]
        assert [n for n, _ in e.named_modules(**kw)] == [n for n, _ in t.named_modules(**kw)]
    assert len(list(e.parameters())) == len(list(t.parameters())) == 3
    assert list(e.state_dict()) == list(t.state_dict())
    assert len(list(e.children())) == len(list(t.children()))
    assert len(list(e.modules())) == len(list(t.modules()))


@requires_torch
def test_train_eval_apply_requires_grad_like_torch():
    def run(L):
        m = arch_nested(L)
        log = []
        assert m.eval() is m
        log.append([mod.training for mod in m.modules()])
        m.blocks.train()
        log.append([mod.training for mod in m.modules()])
        m.apply(lambda mod: log.append(type(mod).__name__))
        assert m.requires_grad_(False) is m
        log.append([p.requires_grad for p in m.parameters()])
        m.seq.requires_grad_()
        log.append([p.requires_grad for p in m.parameters()])
        return log

    assert run(ember) == run(torch)


def test_zero_grad():
    m = enn.Linear(3, 2)
    x = ember.tensor(arr(4, 3))
    m(x).sum().backward()
    g = m.weight.grad
    assert g is not None
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is g and np.all(g.numpy() == 0) and not g.requires_grad
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None


# ------------------------------------------------------------------ conversions
def test_dtype_conversions_keep_parameter_objects():
    m = enn.Sequential(enn.Linear(2, 3))
    m.register_buffer("count", ember.tensor(3))
    m.register_buffer("stat", ember.zeros(2))
    w = m[0].weight
    m(ember.tensor(arr(1, 2))).sum().backward()
    assert m.double() is m
    assert m[0].weight is w and w.dtype is ember.float64 and w.grad.dtype is ember.float64
    assert m.count.dtype is ember.int64 and m.stat.dtype is ember.float64
    assert isinstance(m[0].weight, enn.Parameter) and w.requires_grad
    y = m(ember.tensor(arr(2, 2, dtype=np.float64)))          # still usable after the cast
    assert y.dtype is ember.float64
    y.sum().backward()
    assert w.grad.dtype is ember.float64
    m.float()
    assert w.dtype is ember.float32 and m.stat.dtype is ember.float32
    m.half()
    assert w.dtype is ember.float16 and m.count.dtype is ember.int64
    m.to(ember.float64)
    assert w.dtype is ember.float64 and m.count.dtype is ember.int64
    m.to("cpu", dtype=ember.float32)
    assert w.dtype is ember.float32
    m.to(ember.zeros(1, dtype=ember.float64))
    assert w.dtype is ember.float64
    m.type(ember.float32)
    assert w.dtype is ember.float32 and m.count.dtype is ember.float32   # type() casts all
    assert m.cpu() is m and m.to("cpu") is m and m.share_memory() is m


def test_cuda_raises_backend_error():
    m = enn.Linear(2, 2)
    from ember._device import BackendUnavailableError
    for fn in (m.cuda, lambda: m.to("cuda"), lambda: m.to("cuda:0"),
               lambda: m.to(device="cuda")):
        with pytest.raises(BackendUnavailableError, match="CUDA"):
            fn()
    assert m.weight.dtype is ember.float32


class _PickleNet(enn.Module):
    def __init__(self):
        super().__init__()
        self.body = enn.Sequential(enn.Linear(3, 3), enn.Identity())
        self.register_buffer("stat", ember.ones(3))
        self.head = enn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.body(x) * self.stat)


@pytest.mark.parametrize("arch", [arch_nested, lambda L: _PickleNet()])
def test_deepcopy_and_pickle_module(arch):
    m = arch(ember)
    clones = [copy.deepcopy(m)]
    if type(m) is _PickleNet:                       # local classes cannot be pickled
        clones.append(pickle.loads(pickle.dumps(m)))
    for clone in clones:
        assert type(clone).__name__ == type(m).__name__
        assert list(clone.state_dict()) == list(m.state_dict())
        for (n, a), (_, b) in zip(clone.named_parameters(), m.named_parameters()):
            assert isinstance(a, enn.Parameter) and a is not b and a.requires_grad, n
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
            assert not np.shares_memory(a.detach().numpy(), b.detach().numpy())
        x = ember.tensor(arr(2, 3))
        np.testing.assert_array_equal(clone(x).detach().numpy(), m(x).detach().numpy())
    # a module pickled before hook dicts existed still loads (__setstate__ fills them)
    state = m.__getstate__()
    del state["_forward_hooks_always_called"]
    fresh = object.__new__(type(m))
    fresh.__setstate__(state)
    assert fresh._forward_hooks_always_called == OrderedDict()


# ------------------------------------------------------------------ hooks
@requires_torch
def test_forward_hooks_order_and_return_values_like_torch():
    def run(L):
        log = []
        m = L.nn.Linear(2, 2)
        with L.no_grad():
            m.weight.copy_(L.eye(2))
            m.bias.zero_()

        def pre1(mod, args):
            log.append(("pre1", len(args)))
            return args[0] * 2                   # not a tuple: wrapped in one

        def pre0(mod, args):
            log.append("pre0")

        def pre_kw(mod, args, kwargs):
            log.append(("pre_kw", sorted(kwargs)))
            return (args[0] + 1,), kwargs

        def fwd1(mod, args, out):
            log.append(("fwd1", args[0].tolist()))
            return out * 10

        def fwd_kw(mod, args, kwargs, out):
            log.append(("fwd_kw", out.tolist()))

        h1 = m.register_forward_pre_hook(pre1)
        m.register_forward_pre_hook(pre0, prepend=True)
        h3 = m.register_forward_pre_hook(pre_kw, with_kwargs=True)
        m.register_forward_hook(fwd1)
        m.register_forward_hook(fwd_kw, with_kwargs=True, prepend=True)
        log.append(m(L.tensor([[1.0, 2.0]])).tolist())
        h1.remove()
        h3.remove()
        h3.remove()                                    # removing twice is harmless
        log.append(m(L.tensor([[1.0, 2.0]])).tolist())
        with m.register_forward_hook(lambda mod, a, o: o + 1000):
            log.append(m(L.tensor([[1.0, 2.0]])).tolist())
        log.append(m(L.tensor([[1.0, 2.0]])).tolist())
        bad = m.register_forward_pre_hook(lambda mod, a, k: 5, with_kwargs=True)
        try:
            m(L.tensor([[1.0, 2.0]]))
        except RuntimeError as e:
            log.append(str(e))
        bad.remove()
        return log

    assert run(ember) == run(torch)


@requires_torch
def test_always_call_forward_hook_like_torch():
    def run(L):
        log = []

        class Boom(L.nn.Module):
            def forward(self, x):
                raise ValueError("boom")

        m = Boom()
        m.register_forward_hook(lambda mod, a, o: log.append(("plain", o)))
        m.register_forward_hook(lambda mod, a, o: log.append(("always", o)), always_call=True)
        try:
            m(1)
        except ValueError as e:
            log.append(str(e))
        return log

    assert run(ember) == run(torch) == [("always", None), "boom"]


@requires_torch
def test_full_backward_hooks_like_torch():
    def run(L, dtype):
        log = []
        m = L.nn.Linear(3, 2).to(dtype)
        with L.no_grad():
            m.weight.copy_(L.tensor(arr(2, 3, seed=3)).to(dtype))
            m.bias.copy_(L.tensor(arr(2, seed=4)).to(dtype))

        def pre(mod, grad_output):
            log.append(("pre", [g.tolist() for g in grad_output]))
            return (grad_output[0] * 2,)

        def hook(mod, grad_input, grad_output):
            log.append(("hook", [None if g is None else g.tolist() for g in grad_input],
                        [g.tolist() for g in grad_output]))
            return None if grad_input[0] is None else (grad_input[0] + 1,)

        m.register_full_backward_pre_hook(pre)
        m.register_full_backward_hook(hook)
        x = L.tensor(arr(4, 3)).to(dtype).requires_grad_()
        y = m(x)
        y.backward(L.tensor(arr(4, 2, seed=5)).to(dtype))
        log.append(("x.grad", x.grad.tolist()))
        log.append(("w.grad", m.weight.grad.tolist()))
        # inputs that do not require grad: the hooks see grad_input = (None,) and warn
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m(L.tensor(arr(1, 3)).to(dtype)).sum().backward()
        log.append(("warned", any("no inputs require gradients" in str(i.message) for i in w)))
        return log

    for dt in ("float32", "float64"):
        le, lt = run(ember, getattr(ember, dt)), run(torch, getattr(torch, dt))
        assert [r[0] for r in le] == [r[0] for r in lt]
        for a, b in zip(le, lt):
            np.testing.assert_allclose(np.array(_flat(a[1:]), float),
                                       np.array(_flat(b[1:]), float), rtol=1e-6, atol=1e-6)


def _to_ember_text(x):
    """``x`` with 'torch' replaced by 'ember' in every string inside it."""
    if isinstance(x, str):
        return x.replace("torch", "ember")
    if isinstance(x, (list, tuple)):
        return type(x)(_to_ember_text(v) for v in x)
    return x


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flat(item)]
    if x is None:
        return [np.nan]
    return [float(x)]


def test_backward_hook_mixing_and_multiple_inputs():
    m = enn.Bilinear(2, 3, 1)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(
        [None if g is None else tuple(g.shape) for g in gi]))
    x1 = ember.tensor(arr(4, 2), requires_grad=True)
    x2 = ember.tensor(arr(4, 3))                   # does not require grad: None in grad_input
    m(x1, x2).sum().backward()
    assert seen == [[(4, 2), None]]
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full"):
        m.register_backward_hook(lambda *a: None)
    n = enn.Linear(2, 2)
    n.register_backward_hook(lambda mod, gi, go: seen.append("old"))
    n(ember.tensor(arr(1, 2), requires_grad=True)).sum().backward()
    assert seen[-1] == "old"


def test_global_forward_hooks():
    from ember.nn.modules import module as mm
    log = []
    h1 = mm.register_module_forward_pre_hook(lambda mod, args: log.append(type(mod).__name__))
    h2 = mm.register_module_forward_hook(lambda mod, args, out: log.append("after"))
    try:
        enn.Sequential(enn.Identity())(ember.ones(1))
    finally:
        h1.remove()
        h2.remove()
    assert log == ["Sequential", "Identity", "after", "after"]
    enn.Identity()(ember.ones(1))
    assert len(log) == 4


# ------------------------------------------------------------------ Parameter and Buffer
@requires_torch
def test_parameter_repr_and_type():
    for rg in (True, False):
        data = arr(2, 3)
        pe = enn.Parameter(T(ember, data), requires_grad=rg)
        pt = torch.nn.Parameter(T(torch, data), requires_grad=rg)
        assert repr(pe) == repr(pt).replace("torch", "ember")
        assert isinstance(pe, ember.Tensor) and pe.is_leaf and pe.requires_grad is rg
    assert repr(enn.Parameter()) == repr(torch.nn.Parameter()).replace("torch", "ember")


def test_parameter_semantics():
    t = ember.tensor(arr(3))
    p = enn.Parameter(t)
    t.add_(1)                                      # shares memory and version counter
    np.testing.assert_array_equal(p.detach().numpy(), t.numpy())
    assert p._version == t._version == 1
    assert type(p * 2) is ember.Tensor and type(p.detach()) is ember.Tensor
    for clone in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(clone) is enn.Parameter and clone.requires_grad
        np.testing.assert_array_equal(clone.detach().numpy(), p.detach().numpy())
        assert not np.shares_memory(clone.detach().numpy(), p.detach().numpy())
    q = enn.Parameter(ember.tensor(arr(2), requires_grad=True) * 2)   # from a non-leaf
    assert q.is_leaf and q.grad_fn is None
    with pytest.raises(RuntimeError, match="floating point"):
        enn.Parameter(ember.tensor([1, 2]))
    assert enn.Parameter(ember.tensor([1, 2]), requires_grad=False).dtype is ember.int64
    assert tuple(enn.Parameter().shape) == (0,)
    assert isinstance(enn.Buffer(ember.ones(1)), enn.Buffer)
    assert not isinstance(ember.ones(1), enn.Buffer)


# ------------------------------------------------------------------ containers
@requires_torch
def test_sequential_operations_like_torch():
    def run(L):
        nn = L.nn
        a, b, c, d = (nn.Linear(1, i + 1) for i in range(4))
        s = nn.Sequential(a, b, c)
        out = [len(s), s[0] is a, s[-1] is c, type(s[1:]).__name__, len(s[::2]),
               s[1:][0] is b]
        s[1] = d
        out.append(s[1] is d)
        del s[0]
        out.append(list(s._modules))
        s.append(a).insert(0, b).insert(-1, c)
        out.append([m.out_features for m in s])
        s.extend(nn.Sequential(d))
        out.append(s.pop(1).out_features)
        out.append([m.out_features for m in s])
        t = s + nn.Sequential(a)
        out.append((len(t), list(t._modules)))
        s += nn.Sequential(b)
        out.append(len(s))
        out.append(len(nn.Sequential(a, b) * 2))
        u = nn.Sequential(a)
        u *= 3
        out.append(list(u._modules))
        del s[1:3]
        out.append(list(s._modules))
        od = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
        out.append((list(od._modules), od[1] is b, repr(od[0:1])))
        out.append(repr(s))
        return out

    assert run(ember) == _to_ember_text(run(torch))


def test_sequential_forward_chains():
    s = enn.Sequential(enn.Linear(3, 4), enn.Identity(), enn.Linear(4, 2))
    x = ember.tensor(arr(5, 3))
    np.testing.assert_allclose(s(x).detach().numpy(),
                               s[2](s[0](x)).detach().numpy(), rtol=1e-6)
    assert enn.Sequential()(x) is x


@requires_torch
def test_modulelist_moduledict_operations_like_torch():
    def run(L):
        nn = L.nn
        a, b, c = (nn.Linear(1, i + 1) for i in range(3))
        ml = nn.ModuleList([a, b])
        out = [len(ml), ml[-1] is b, type(ml[:1]).__name__]
        ml.append(c)
        ml.insert(1, c)
        ml += [a]
        ml.extend((b,))
        out.append([m.out_features for m in ml])
        ml[0] = b
        del ml[-1]
        out.append(ml.pop(0).out_features)
        del ml[::2]
        out.append(list(ml._modules))
        out.append(len(ml + nn.ModuleList([a])))
        out.append([m.out_features for m in ml])
        md = nn.ModuleDict({"z": a, "y": b})
        md["x"] = c
        md.update([("w", a)])
        md.update(OrderedDict([("v", b)]))
        out.append((list(md), list(md.keys()), "z" in md, len(md)))
        out.append(md.pop("y").out_features)
        del md["z"]
        out.append([k for k, _ in md.items()] + [m.out_features for m in md.values()])
        out.append(repr(md))
        md.clear()
        out.append(len(md))
        return out

    assert run(ember) == _to_ember_text(run(torch))


@requires_torch
def test_modulelist_repr_collapses_repeats_like_torch():
    def build(L):
        nn = L.nn
        inner = nn.Sequential(nn.Linear(2, 2), nn.Identity())
        return nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Identity(), inner, inner,
                              nn.Linear(2, 3), nn.ModuleList(), nn.Linear(2, 3)])

    assert repr(build(ember)) == repr(build(torch)).replace("torch", "ember")
    assert repr(enn.ModuleList()) == "ModuleList()"


@requires_torch
def test_parameter_containers_like_torch():
    def run(L):
        nn = L.nn
        pl = nn.ParameterList([L.ones(2), nn.Parameter(L.zeros(1, 3))])
        pl.append(L.ones(1, dtype=L.float64)).append("text")
        pl.extend([L.zeros(2, 2)])
        out = [len(pl), [type(p).__name__ for p in pl], [n for n, _ in pl.named_parameters()],
               type(pl[1:3]).__name__, len(pl[1:3]), repr(pl)]
        pl[0] = L.zeros(5)
        out.append((type(pl[0]).__name__, tuple(pl[-5].shape)))
        pd = nn.ParameterDict({"b": L.ones(2), "a": nn.Parameter(L.zeros(3))})
        pd["c"] = L.ones(1)
        pd.update([("d", 4)])
        out.append((list(pd), [n for n, _ in pd.named_parameters()], repr(pd)))
        out.append((pd.get("zz", 1), "a" in pd, pd.pop("b").shape[0], pd.popitem()[0]))
        out.append(pd.setdefault("e", L.ones(2)).shape[0])
        pd2 = pd | nn.ParameterDict({"f": L.ones(1)})
        out.append((list(pd2), list(pd.copy()), list(reversed(pd)),
                    list(pd.fromkeys(["x", "y"]))))
        pd.clear()
        out.append(len(pd))
        return out

    assert run(ember) == _to_ember_text(run(torch))


def test_containers_register_parameters_for_training():
    ml = enn.ModuleList([enn.Linear(2, 2) for _ in range(2)])
    pl = enn.ParameterList([ember.ones(2)])
    holder = enn.Module()
    holder.ml, holder.pl = ml, pl
    names = [n for n, _ in holder.named_parameters()]
    assert names == ["ml.0.weight", "ml.0.bias", "ml.1.weight", "ml.1.bias", "pl.0"]
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        ml(1)
