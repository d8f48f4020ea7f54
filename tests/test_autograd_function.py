"""ember.autograd.Function against torch.autograd.Function: the ctx API (save_for_backward,
saved_tensors, needs_input_grad, mark_non_differentiable, mark_dirty,
set_materialize_grads), the setup_context style, once_differentiable, non-tensor arguments
and outputs, multiple outputs, double backward through a Function, and the errors.

Each Function is written once, in a factory taking the library ``L``, and built for both
ember and torch, so the same code runs on both.
"""
from __future__ import annotations

import numpy as np
import pytest

import ember
from oracle import assert_close, requires_torch, torch

pytestmark = requires_torch

RNG = np.random.default_rng(7)


def arr(*shape):
    return RNG.uniform(-1, 1, size=shape)


def both(factory, fn, *arrays, requires_grad=True):
    """Build the Function(s) with ``factory(L)`` and run ``fn(L, F, *tensors)`` for ember
    and torch; returns (ember_result, torch_result)."""
    out = []
    for L in (ember, torch):
        ts = [L.tensor(a.copy(), requires_grad=requires_grad) for a in arrays]
        out.append(fn(L, factory(L), *ts))
    return out


# ------------------------------------------------------------------------------ factories
def make_cube(L):
    class Cube(L.autograd.Function):
        """x ** 3 with a backward written in library ops (so it is twice differentiable)."""
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 3 * x * x
    return Cube


def make_scale(L):
    class Scale(L.autograd.Function):
        """x * w * k with a non-tensor argument k; saves an output and an intermediate."""
        @staticmethod
        def forward(ctx, x, w, k):
            ctx.k = k
            xw = x * w
            out = xw * k
            ctx.save_for_backward(x, w, out, None)
            return out

        @staticmethod
        def backward(ctx, g):
            x, w, out, none = ctx.saved_tensors
            assert none is None
            gx = g * w * ctx.k if ctx.needs_input_grad[0] else None
            gw = g * x * ctx.k if ctx.needs_input_grad[1] else None
            return gx, gw, None
    return Scale


def make_split(L):
    class SplitStats(L.autograd.Function):
        """Two differentiable outputs, one index output, one non-tensor output."""
        @staticmethod
        def forward(ctx, x):
            idx = (x > 0).to(L.int64)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x)
            return x * 2, x * x, idx, "meta"

        @staticmethod
        def backward(ctx, g1, g2, gidx, gmeta):
            x, = ctx.saved_tensors
            return g1 * 2 + g2 * 2 * x
    return SplitStats


def make_setup_ctx(L):
    class MulAdd(L.autograd.Function):
        @staticmethod
        def forward(x, y, alpha):
            return x * y + alpha

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, y, alpha = inputs
            ctx.save_for_backward(x, y)
            ctx.alpha = alpha

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x, None
    return MulAdd


# ------------------------------------------------------------------------------ tests
def test_saved_tensors_and_non_tensor_args():
    def fn(L, Scale, x, w):
        y = Scale.apply(x, w, 2.5)
        assert type(y.grad_fn).__name__ == "ScaleBackward" and y.grad_fn.name() == "ScaleBackward"
        (y * y).sum().backward()
        return y, x.grad, w.grad
    e, t = both(make_scale, fn, arr(2, 3), arr(3))
    assert_close(e, t)


def test_needs_input_grad_in_forward_and_backward():
    def factory(L):
        class Rec(L.autograd.Function):
            seen = []

            @staticmethod
            def forward(ctx, x, y, n):
                Rec.seen.append(("fwd", ctx.needs_input_grad))
                return x * y * n

            @staticmethod
            def backward(ctx, g):
                Rec.seen.append(("bwd", ctx.needs_input_grad))
                return g, None, None
        return Rec

    seen = {}
    for L in (ember, torch):
        Rec = factory(L)
        x = L.ones(2, requires_grad=True)
        Rec.apply(x, L.ones(2), 3).sum().backward()
        seen[L] = Rec.seen
    assert seen[ember] == seen[torch] == [("fwd", (True, False, False)),
                                          ("bwd", (True, False, False))]


def test_multiple_outputs_non_differentiable_and_non_tensor():
    got = {}
    x0 = arr(4)
    for L in (ember, torch):
        Split = make_split(L)
        x = L.tensor(x0, requires_grad=True)
        a, b, idx, meta = Split.apply(x)
        assert meta == "meta" and not idx.requires_grad and idx.dtype == L.int64
        assert a.grad_fn is b.grad_fn and b.requires_grad
        (a.sum() + b.sum()).backward(retain_graph=True)
        g_both = x.grad.clone()
        x.grad = None
        b.sum().backward()                  # a's gradient is materialised as zeros
        got[L] = (g_both, x.grad)
    assert_close(got[ember], got[torch])


def test_materialized_zero_grads_for_unused_and_non_differentiable_outputs():
    def factory(L):
        class Two(L.autograd.Function):
            received = []

            @staticmethod
            def forward(ctx, x):
                i = x.detach().clone()
                ctx.mark_non_differentiable(i)
                return x * 2, x * 3, i

            @staticmethod
            def backward(ctx, g1, g2, gi):
                Two.received.append([None if g is None else g.tolist() for g in (g1, g2, gi)])
                return g1 * 2 + g2 * 3
        return Two

    def factory_lazy(L):
        class Lazy(L.autograd.Function):
            received = []

            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                Lazy.received.append((g1 is None, g2 is None))
                out = 0
                if g1 is not None:
                    out = out + g1 * 2
                if g2 is not None:
                    out = out + g2 * 3
                return out
        return Lazy

    rec = {}
    for L in (ember, torch):
        Two, Lazy = factory(L), factory_lazy(L)
        x = L.ones(2, requires_grad=True)
        a, b, i = Two.apply(x)
        a.sum().backward()
        p, q = Lazy.apply(x)
        q.sum().backward()
        rec[L] = (Two.received, Lazy.received, x.grad.tolist())
    assert rec[ember] == rec[torch]
    assert rec[ember][0] == [[[1, 1], [0, 0], [0, 0]]] and rec[ember][1] == [(True, False)]


def test_setup_context_style():
    def fn(L, MulAdd, x, y):
        out = MulAdd.apply(x, y, 0.5)
        (out * out).sum().backward()
        return out, x.grad, y.grad
    e, t = both(make_setup_ctx, fn, arr(3), arr(3))
    assert_close(e, t)


def test_mark_dirty():
    def factory(L):
        class AddOneInplace(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.add_(1)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2                 # deliberately not 1, to see it is used
        return AddOneInplace

    res = {}
    x0 = arr(3)
    for L in (ember, torch):
        F = factory(L)
        leaf = L.tensor(x0, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been "
                                               "used in an in-place operation"):
            F.apply(leaf)
        a = leaf * 1
        v0 = a._version
        b = F.apply(a)
        assert b is a and a._version > v0 and type(a.grad_fn).__name__ == "AddOneInplaceBackward"
        (b * 3).sum().backward()
        res[L] = (b, leaf.grad)
    assert_close(res[ember], res[torch])


def test_input_returned_unchanged_is_a_new_view():
    def factory(L):
        class Ident(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 5
        return Ident

    res = {}
    x0 = arr(3)
    for L in (ember, torch):
        Ident = factory(L)
        x = L.tensor(x0, requires_grad=True)
        y = Ident.apply(x)
        assert y is not x and y._base is x and y.data_ptr() == x.data_ptr()
        y.sum().backward()
        res[L] = x.grad
    assert_close(res[ember], res[torch])


def test_function_under_no_grad_and_without_grad_inputs():
    for L in (ember, torch):
        Cube = make_cube(L)
        x = L.ones(2, requires_grad=True)
        with L.no_grad():
            y = Cube.apply(x)
        assert not y.requires_grad and y.grad_fn is None
        z = Cube.apply(L.ones(2))
        assert not z.requires_grad


def test_double_backward_through_function():
    def fn(L, Cube, x):
        y = Cube.apply(x)
        g, = L.autograd.grad(y.sum(), x, create_graph=True)      # 3x^2
        h, = L.autograd.grad((g * g).sum(), x, create_graph=True)   # 36x^3
        h.sum().backward()                                         # 108x^2
        return g, h, x.grad
    e, t = both(make_cube, fn, arr(4))
    assert_close(e, t)
    x = ember.tensor(arr(2, 2), requires_grad=True)
    Cube = make_cube(ember)
    assert ember.autograd.gradcheck(Cube.apply, (x,))
    assert ember.autograd.gradgradcheck(Cube.apply, (x,))


def test_once_differentiable():
    def factory(L):
        from importlib import import_module
        once_differentiable = import_module(L.__name__ + ".autograd.function") \
            .once_differentiable

        class Sq(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @once_differentiable
            def backward(ctx, g):
                x, = ctx.saved_tensors
                assert not L.is_grad_enabled()
                return 2 * x * g
        return Sq

    for L in (ember, torch):
        Sq = factory(L)
        x = L.tensor(arr(3), requires_grad=True)
        # first order works; the incoming gradient does not require grad: plain result
        g, = L.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
        assert not g.requires_grad
        # the incoming gradient requires grad: differentiating the result raises
        y = Sq.apply(x)
        g, = L.autograd.grad((y * y).sum(), x, create_graph=True)
        assert g.requires_grad
        with pytest.raises(RuntimeError, match="trying to differentiate twice a function that "
                                               "was marked with @once_differentiable"):
            g.sum().backward()
        assert g.grad_fn.name().endswith("Error")
        # as in PyTorch, the Error node is not linked back to x
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            L.autograd.grad(g.sum(), x)
    # the value itself is right
    res = []
    for L in (ember, torch):
        x = L.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
        Sq = factory(L)
        Sq.apply(x).sum().backward()
        res.append(x.grad)
    assert_close(res[0], res[1])


@pytest.mark.parametrize("backward_result, exc, msg", [
    ("two", RuntimeError, r"function \w+Backward returned an incorrect number of gradients "
                          r"\(expected 1, got 2\)"),
    ("empty", RuntimeError, r"function \w+Backward returned an incorrect number of gradients "
                            r"\(expected 1, got 0\)"),
    ("int", RuntimeError, r"expected Variable or None \(got int\)"),
    ("shape", RuntimeError, r"Function \w+Backward returned an invalid gradient at index 0 - "
                            r"got \[5\] but expected shape compatible with \[2\]"),
])
def test_backward_result_errors(backward_result, exc, msg):
    def factory(L):
        class Bad(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return {"two": lambda: (g, g), "empty": lambda: (), "int": lambda: 3,
                        "shape": lambda: L.ones(5)}[backward_result]()
        return Bad

    for L in (ember, torch):
        x = L.ones(2, requires_grad=True)
        with pytest.raises(exc, match=msg):
            factory(L).apply(x).sum().backward()


def test_extra_trailing_none_gradients_are_allowed():
    def factory(L):
        class Extra(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2, None, None
        return Extra

    for L in (ember, torch):
        x = L.ones(2, requires_grad=True)
        factory(L).apply(x).sum().backward()
        assert x.grad.tolist() == [2, 2]


def test_save_for_backward_errors_and_freed_and_modified_saved_tensors():
    def factory(L):
        class SaveInt(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(3)
                return x

            @staticmethod
            def backward(ctx, g):
                return g
        return SaveInt

    for L in (ember, torch):
        x = L.ones(2, requires_grad=True)
        with pytest.raises(TypeError, match="save_for_backward can only save variables, but "
                                            "argument 0 is of type int"):
            factory(L).apply(x)
        Cube = make_cube(L)
        y = Cube.apply(x)
        y.sum().backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second "
                                               "time"):
            y.grad_fn.saved_tensors
        a = x * 1
        y = Cube.apply(a)
        a.mul_(2)
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient "
                                               "computation has been modified by an inplace "
                                               "operation"):
            y.sum().backward()


def test_saved_output_modified_in_place_is_detected():
    def factory(L):
        class Exp2(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x * 2
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, g):
                y, = ctx.saved_tensors
                assert y.grad_fn is not None      # saved outputs come back attached
                return g * 2
        return Exp2

    for L in (ember, torch):
        x = L.ones(2, requires_grad=True)
        F = factory(L)
        F.apply(x).sum().backward()
        o = F.apply(x)
        o.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            o.sum().backward()


def test_legacy_non_static_usage_raises():
    for L in (ember, torch):
        Cube = make_cube(L)
        with pytest.warns(DeprecationWarning):
            instance = Cube()
        with pytest.raises(RuntimeError, match="Legacy autograd function with non-static "
                                               "forward method is deprecated"):
            instance(L.ones(2))


def test_gradcheck_on_multi_output_function():
    Split = make_split(ember)
    x = ember.tensor(arr(3), requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: Split.apply(t)[:2], (x,))
    assert ember.autograd.gradgradcheck(lambda t: Split.apply(t)[:2], (x,))
    Scale = make_scale(ember)
    w = ember.tensor(arr(3), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: Scale.apply(a, b, 1.5), (x, w))
    MulAdd = make_setup_ctx(ember)
    assert ember.autograd.gradgradcheck(lambda a, b: MulAdd.apply(a, b, 2.0), (x, w))


def test_reentrant_backward_checkpoint_style():
    """A backward that runs its own backward pass (activation checkpointing): recompute
    the forward with grad on, then backpropagate into the input and into the weights the
    function closes over."""
    def factory(L):
        class Checkpoint(L.autograd.Function):
            @staticmethod
            def forward(ctx, fn, x):
                ctx.fn = fn
                ctx.save_for_backward(x)
                return fn(x)

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                with L.enable_grad():
                    xd = x.detach().requires_grad_()
                    y = ctx.fn(xd)
                L.autograd.backward(y, g, inputs=[xd] + ctx.fn.params)
                return None, xd.grad
        return Checkpoint

    w0, x0 = arr(3, 3), arr(2, 3)
    res = {}
    for L in (ember, torch):
        w = L.tensor(w0, requires_grad=True)
        x = L.tensor(x0, requires_grad=True)

        def block(t):
            return L.tanh(t @ w) * t
        block.params = [w]
        h = factory(L).apply(block, x * 2)
        (h * h).sum().backward()
        res[L] = (h, x.grad, w.grad)
    assert_close(res[ember], res[torch])


def test_instantiating_a_function_warns():
    for L in (ember, torch):
        with pytest.warns(DeprecationWarning, match="should not be instantiated"):
            make_cube(L)()
