"""PyTorch as a test-time oracle: run the same computation in ember and torch, compare
forward values and gradients. Import ``torch`` through ``require_torch()`` so that test files
skip cleanly where torch is not installed (ember itself never imports torch)."""
from __future__ import annotations

import numpy as np
import pytest

import ember

try:
    import torch
except ImportError:  # pragma: no cover - exercised only without torch
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is not "
                                                           "installed")

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}


def to_torch(x, requires_grad=None):
    if isinstance(x, ember.Tensor):
        t = torch.from_numpy(np.array(x.detach().numpy(), copy=True))
        rg = x.requires_grad if requires_grad is None else requires_grad
        return t.requires_grad_(rg) if rg else t
    if isinstance(x, (list, tuple)):
        return type(x)(to_torch(v) for v in x)
    if isinstance(x, dict):
        return {k: to_torch(v) for k, v in x.items()}
    if isinstance(x, ember.dtype):
        return getattr(torch, x.name)
    return x


def to_numpy(x):
    if isinstance(x, ember.Tensor):
        return x.detach().numpy()
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def assert_close(ours, theirs, rtol=None, atol=None, check_dtype=True, msg=""):
    """Compare an ember result with a torch result (tensors, or nested tuples/lists)."""
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)), f"{msg}: expected a sequence, got {type(ours)}"
        assert len(ours) == len(theirs), f"{msg}: length {len(ours)} != {len(theirs)}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_close(o, t, rtol, atol, check_dtype, f"{msg}[{i}]")
        return
    if theirs is None:
        assert ours is None, f"{msg}: expected None, got {ours!r}"
        return
    if torch is not None and isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ember.Tensor), f"{msg}: expected an ember.Tensor, got {type(ours)}"
        if check_dtype:
            assert ours.dtype.name == str(theirs.dtype).replace("torch.", ""), \
                f"{msg}: dtype {ours.dtype} != {theirs.dtype}"
        assert tuple(ours.shape) == tuple(theirs.shape), \
            f"{msg}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
    a, b = to_numpy(ours), to_numpy(theirs)
    tol = TOL.get(b.dtype.type, dict(rtol=1e-5, atol=1e-6))
    np.testing.assert_allclose(a, b, rtol=rtol if rtol is not None else tol["rtol"],
                               atol=atol if atol is not None else tol["atol"],
                               equal_nan=True, err_msg=msg)


def check_op(ember_fn, torch_fn, inputs, grad=True, rtol=None, atol=None, check_dtype=True,
             seed=0):
    """Run ``ember_fn(*inputs)`` and ``torch_fn(*torch_inputs)``; compare outputs and, when
    ``grad``, the gradients of every floating input that requires grad, for a random
    output gradient."""
    t_inputs = [to_torch(x) for x in inputs]
    out = ember_fn(*inputs)
    t_out = torch_fn(*t_inputs)
    assert_close(out, t_out, rtol, atol, check_dtype, "forward")
    if not grad:
        return out
    outs = out if isinstance(out, (tuple, list)) else (out,)
    t_outs = t_out if isinstance(t_out, (tuple, list)) else (t_out,)
    pairs = [(o, t) for o, t in zip(outs, t_outs)
             if isinstance(o, ember.Tensor) and o.requires_grad]
    diff = [(i, x) for i, x in enumerate(inputs)
            if isinstance(x, ember.Tensor) and x.requires_grad]
    if not pairs or not diff:
        return out
    rng = np.random.default_rng(seed)
    gs = [rng.standard_normal(o.shape).astype(o.numpy(force=True).dtype) for o, _ in pairs]
    e_grads = ember.autograd.grad([o for o, _ in pairs], [x for _, x in diff],
                                  [ember.tensor(g) for g in gs], allow_unused=True)
    t_grads = torch.autograd.grad([t for _, t in pairs], [t_inputs[i] for i, _ in diff],
                                  [torch.from_numpy(g) for g in gs], allow_unused=True)
    for (i, _), eg, tg in zip(diff, e_grads, t_grads):
        if tg is None:
            assert eg is None or np.all(to_numpy(eg) == 0), f"grad of input {i} should be None"
            continue
        assert eg is not None, f"grad of input {i} is None but torch has one"
        assert_close(eg, tg, rtol, atol, check_dtype, f"grad of input {i}")
    return out


def rand(*shape, dtype=np.float64, requires_grad=True, seed=0, low=-1.0, high=1.0):
    rng = np.random.default_rng(seed)
    arr = rng.uniform(low, high, size=shape).astype(dtype)
    return ember.tensor(arr, requires_grad=requires_grad)
