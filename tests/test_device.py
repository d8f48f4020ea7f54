"""Devices against PyTorch: ember.device parsing, equality, str/repr/pickle; the CUDA and MPS
namespaces of a CPU-only install; moving tensors to CUDA raising an error that is both a
RuntimeError and an AssertionError (PyTorch raises AssertionError) naming CUDA; ``.to('cpu')``
and ``.cpu()`` returning the tensor itself.

Tests marked ``xfail(strict=True, reason="lead: ...")`` show a bug in _device.py/_tensor.py.
"""
from __future__ import annotations

import pickle

import pytest

import ember
from oracle import requires_torch, torch



# ------------------------------------------------------------------------ ember.device
VALID = ["cpu", "cuda", "cuda:1", "cpu:0", "mps", "meta", "xpu", "cuda:10"]


@requires_torch
@pytest.mark.parametrize("spec", VALID)
def test_device_parsing(spec):
    e, t = ember.device(spec), torch.device(spec)
    assert (e.type, e.index) == (t.type, t.index)
    assert str(e) == str(t)
    assert repr(e) == repr(t)


@requires_torch
@pytest.mark.parametrize("args, kwargs", [
    (("cuda", 2), {}), (("cpu", 0), {}), (("cpu", None), {}), ((), dict(type="cuda", index=1)),
    (("mps",), {}),
])
def test_device_type_and_index(args, kwargs):
    e, t = ember.device(*args, **kwargs), torch.device(*args, **kwargs)
    assert (e.type, e.index, str(e), repr(e)) == (t.type, t.index, str(t), repr(t))


def test_device_from_device():
    d = ember.device("cuda:1")
    assert ember.device(d) == d and repr(ember.device(d)) == "device(type='cuda', index=1)"


def test_device_repr_cpu():
    assert repr(ember.device("cpu")) == "device(type='cpu')"
    assert str(ember.device("cpu")) == "cpu"


@requires_torch
@pytest.mark.parametrize("spec", ["foo", "CPU", "gpu"])
def test_device_unknown_type(spec):
    with pytest.raises(RuntimeError, match="device type"):
        torch.device(spec)
    with pytest.raises(RuntimeError, match=f"Expected one of .*device string: {spec}"):
        ember.device(spec)




@requires_torch
@pytest.mark.parametrize("spec", [
    pytest.param("cuda:x"), pytest.param("cuda:0:1"),
    pytest.param("cuda:01"), pytest.param("cpu:-1"),
    pytest.param("cuda:"), pytest.param(" cpu"),
])
def test_device_invalid_string(spec):
    with pytest.raises(RuntimeError, match="Invalid device string"):
        torch.device(spec)
    with pytest.raises(RuntimeError, match="Invalid device string"):
        ember.device(spec)


@requires_torch
def test_device_negative_index():
    with pytest.raises(RuntimeError, match="must not be negative"):
        torch.device("cpu", -1)
    with pytest.raises(RuntimeError, match="must not be negative"):
        ember.device("cpu", -1)


@requires_torch
def test_device_index_twice():
    with pytest.raises(RuntimeError, match="must not include an index"):
        torch.device("cuda:0", 1)
    with pytest.raises(RuntimeError, match="must not include an index"):
        ember.device("cuda:0", 1)


@requires_torch
def test_device_bad_type():
    with pytest.raises(TypeError):
        torch.device(1.5)
    with pytest.raises(TypeError, match="device"):
        ember.device(1.5)


@requires_torch
def test_device_equality_and_hash():
    for lib in (ember, torch):
        d = lib.device
        assert d("cpu") == d("cpu")
        assert d("cpu") != d("cpu", 0)            # an explicit index is a different device
        assert d("cuda") != d("cuda:0")
        assert d("cpu") != d("cuda")
        assert d("cuda:1") == d("cuda", 1)
        assert hash(d("cpu")) == hash(d("cpu"))
        assert len({d("cpu"), d("cpu"), d("cuda:0"), d("cuda", 0)}) == 2
        assert (d("cpu") == 0) is False


@requires_torch
@pytest.mark.parametrize("other", ["cpu", "garbage"])
def test_device_eq_str_like_torch(other):
    assert (torch.device("cpu") == other) is False
    assert (ember.device("cpu") == other) is False


@requires_torch
@pytest.mark.parametrize("spec", ["cpu", "cuda:1", "mps"])
def test_device_pickle(spec):
    d = pickle.loads(pickle.dumps(ember.device(spec)))
    assert isinstance(d, ember.device) and d == ember.device(spec)
    assert repr(d) == repr(torch.device(spec))


def test_device_context_manager():
    with ember.device("cpu"):
        assert ember.zeros(1).device == ember.device("cpu")


def test_tensor_device():
    x = ember.zeros(2)
    assert x.device == ember.device("cpu")
    assert x.device.type == "cpu" and x.device.index is None
    assert repr(x.device) == "device(type='cpu')"
    assert x.is_cpu and not x.is_cuda


@requires_torch
def test_get_device():
    assert torch.zeros(1).get_device() == -1
    assert ember.zeros(1).get_device() == -1


# ------------------------------------------------------------------------ ember.cuda
def test_cuda_queries():
    assert ember.cuda.is_available() is False
    assert ember.cuda.device_count() == 0
    assert ember.cuda.is_initialized() is False
    assert ember.cuda.is_bf16_supported() is False
    assert ember.cuda.get_arch_list() == []
    assert ember.cuda.memory_allocated() == 0
    assert ember.cuda.max_memory_allocated() == 0
    assert ember.cuda.memory_reserved() == 0
    assert ember.cuda.get_rng_state_all() == []


@requires_torch
def test_cuda_queries_match_torch_cpu_build():
    if torch.cuda.is_available():
        pytest.skip("this torch has CUDA; the comparison is with a CPU-only build")
    for name in ("is_available", "device_count", "is_initialized", "memory_allocated",
                 "get_arch_list"):
        assert getattr(ember.cuda, name)() == getattr(torch.cuda, name)(), name


@pytest.mark.parametrize("fn, args", [("manual_seed", (0,)), ("manual_seed_all", (0,)),
                                      ("seed", ()), ("seed_all", ()), ("empty_cache", ())])
def test_cuda_noops(fn, args):
    # PyTorch makes these no-ops without CUDA, so seeding code can run unconditionally
    assert getattr(ember.cuda, fn)(*args) is None


def test_cuda_manual_seed_leaves_cpu_generator_alone():
    ember.manual_seed(3)
    a = ember.rand(3)
    ember.manual_seed(3)
    ember.cuda.manual_seed_all(123)
    assert a.tolist() == ember.rand(3).tolist()


@pytest.mark.parametrize("fn", ["current_device", "get_device_name", "get_device_capability",
                                "get_device_properties", "synchronize", "init", "initial_seed",
                                "mem_get_info"])
def test_cuda_functions_needing_a_device_raise(fn):
    # torch raises AssertionError("Torch not compiled with CUDA enabled") for all of these
    with pytest.raises(AssertionError, match="CUDA"):
        getattr(ember.cuda, fn)()
    with pytest.raises(RuntimeError, match="CUDA"):
        getattr(ember.cuda, fn)()


@requires_torch
@pytest.mark.parametrize("fn", ["current_device", "get_device_name", "synchronize"])
def test_cuda_functions_raise_like_torch(fn):
    if torch.cuda.is_available():
        pytest.skip("this torch has CUDA")
    with pytest.raises(AssertionError):
        getattr(torch.cuda, fn)()
    with pytest.raises(AssertionError):
        getattr(ember.cuda, fn)()


# ------------------------------------------------------------------------ moving to CUDA
MOVES = {
    "to_str": lambda: ember.zeros(2).to("cuda"),
    "to_indexed": lambda: ember.zeros(2).to("cuda:0"),
    "to_device": lambda: ember.zeros(2).to(ember.device("cuda", 0)),
    "to_kw": lambda: ember.zeros(2).to(device="cuda"),
    "to_device_dtype": lambda: ember.zeros(2).to("cuda", ember.float64),
    "method": lambda: ember.zeros(2).cuda(),
    "zeros": lambda: ember.zeros(2, device="cuda"),
    "ones": lambda: ember.ones(2, device="cuda:0"),
    "full": lambda: ember.full((2,), 1.0, device="cuda"),
    "empty": lambda: ember.empty(2, device="cuda"),
    "tensor": lambda: ember.tensor([1.0], device="cuda"),
    "zeros_like": lambda: ember.zeros_like(ember.zeros(2), device="cuda"),
    "full_like": lambda: ember.full_like(ember.zeros(2), 1.0, device="cuda"),
}


@pytest.mark.parametrize("move", list(MOVES.values()), ids=list(MOVES))
def test_cuda_tensors_raise(move):
    # both types: code catching either PyTorch's AssertionError or a RuntimeError works
    with pytest.raises(AssertionError, match="CUDA"):
        move()
    with pytest.raises(RuntimeError, match="CUDA"):
        move()




@pytest.mark.parametrize("move", [
    pytest.param(lambda x: x.new_zeros(2, device="cuda")),
    pytest.param(lambda x: x.new_ones(2, device="cuda")),
    pytest.param(lambda x: x.new_full((2,), 1.0, device="cuda")),
    pytest.param(lambda x: x.new_empty(2, device="cuda")),
    pytest.param(lambda x: x.new_tensor([1.0], device="cuda")),
], ids=["new_zeros", "new_ones", "new_full", "new_empty", "new_tensor"])
def test_new_on_cuda_raises(move):
    with pytest.raises(RuntimeError, match="CUDA"):
        move(ember.zeros(2))


def test_new_on_cpu():
    x = ember.zeros(2)
    assert x.new_zeros(2, device="cpu").device == ember.device("cpu")
    assert x.new_tensor([1.0], device=ember.device("cpu")).device == ember.device("cpu")


@requires_torch
def test_cuda_tensor_error_type_matches_torch():
    if torch.cuda.is_available():
        pytest.skip("this torch has CUDA")
    with pytest.raises(AssertionError):
        torch.zeros(2).to("cuda")
    with pytest.raises(AssertionError):
        ember.zeros(2).to("cuda")


def test_mps():
    assert ember.backends.mps.is_available() is False
    assert ember.backends.mps.is_built() is False
    with pytest.raises(RuntimeError, match="mps"):
        ember.zeros(2).to("mps")


@requires_torch
def test_mps_matches_torch_build():
    if torch.backends.mps.is_available():
        pytest.skip("this torch has MPS")
    assert ember.backends.mps.is_available() == torch.backends.mps.is_available()


# ------------------------------------------------------------------------ ember.backends
@requires_torch
def test_cudnn_flags_defaults_match_torch():
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32", "benchmark_limit"):
        assert getattr(ember.backends.cudnn, name) == getattr(torch.backends.cudnn, name), name
    assert ember.backends.cudnn.is_available() is False
    assert ember.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    assert ember.backends.cuda.is_built() is False


def test_cudnn_flags_are_settable():
    cudnn = ember.backends.cudnn
    old = (cudnn.benchmark, cudnn.deterministic, cudnn.enabled)
    try:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled = True, True, False
        assert (cudnn.benchmark, cudnn.deterministic, cudnn.enabled) == (True, True, False)
        assert (ember.ones(2) * 2).tolist() == [2.0, 2.0]     # no effect on computing
    finally:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled = old


def test_cudnn_flags_context_manager():
    cudnn = ember.backends.cudnn
    before = (cudnn.enabled, cudnn.benchmark, cudnn.deterministic)
    with cudnn.flags(enabled=False, benchmark=True, deterministic=True):
        assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (False, True, True)
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == before


def test_backends_cuda_matmul_settable():
    m = ember.backends.cuda.matmul
    old = m.allow_tf32
    try:
        m.allow_tf32 = True
        assert ember.backends.cuda.matmul.allow_tf32 is True
    finally:
        m.allow_tf32 = old


# ------------------------------------------------------------------------ staying on the CPU
@pytest.mark.parametrize("move", [
    lambda x: x.to("cpu"), lambda x: x.cpu(), lambda x: x.to(ember.device("cpu")),
    lambda x: x.to(device="cpu"), lambda x: x.to("cpu", ember.float32),
    lambda x: x.to(x.device), lambda x: x.to(ember.float32),
], ids=["to_str", "cpu", "to_device", "to_kw", "to_cpu_same_dtype", "to_own_device", "to_dtype"])
def test_cpu_moves_return_self(move):
    x = ember.zeros(2, requires_grad=True)
    assert move(x) is x


@requires_torch
def test_cpu_moves_return_self_in_torch_too():
    x = torch.zeros(2, requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x and x.to(torch.device("cpu")) is x


@pytest.mark.parametrize("dev", ["cpu", ember.device("cpu"), None])
def test_creation_on_cpu(dev):
    assert ember.zeros(2, device=dev).device == ember.device("cpu")
    assert ember.tensor([1.0], device=dev).device == ember.device("cpu")
