"""The autograd engine against PyTorch: backward/grad and their options, accumulation,
retain_grad/retain_graph, higher-order gradients, hooks, grad modes, anomaly detection, the
engine's corner cases (partial graphs, duplicate inputs, multiple roots, aliasing), its
scale (a 100,000-op chain, flat memory over many steps) and autograd.functional.

Most tests run one function on both libraries (``L`` is ``ember`` or ``torch``) and compare
the gradients.
"""
from __future__ import annotations

import gc
import threading
import tracemalloc
import warnings

import numpy as np
import pytest

import ember
from oracle import assert_close, requires_torch, torch

pytestmark = requires_torch

RNG = np.random.default_rng(1234)


def arr(*shape, low=-1.0, high=1.0, dtype=np.float64):
    return RNG.uniform(low, high, size=shape).astype(dtype)


def pair(*arrays, requires_grad=True):
    """The same values as ember and torch tensors: ``([ember...], [torch...])``."""
    e = [ember.tensor(a.copy(), requires_grad=requires_grad) for a in arrays]
    t = [torch.tensor(a.copy(), requires_grad=requires_grad) for a in arrays]
    return e, t


def both(fn, *arrays, requires_grad=True):
    """Run ``fn(L, *tensors)`` for L in (ember, torch); return (ember_result, torch_result,
    ember_inputs, torch_inputs)."""
    e, t = pair(*arrays, requires_grad=requires_grad)
    return fn(ember, *e), fn(torch, *t), e, t


def grads_of(ts):
    return [t.grad for t in ts]


# ------------------------------------------------------------------------------ basics
def test_requires_grad_flags_and_leaves():
    x = ember.ones(2, 3)
    assert not x.requires_grad and x.is_leaf and x.grad_fn is None
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    y = ember.ones(3, requires_grad=True) * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn.name() == "MulBackward0"
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        ember.ones(2, dtype=ember.int64).requires_grad_()


def test_detach_and_detach_():
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert d.data_ptr() == y.data_ptr()                 # shares memory
    d.add_(1)                                           # and the version counter
    assert y._version == d._version == 1
    y2 = x * 3
    assert y2.detach_() is y2
    assert not y2.requires_grad and y2.grad_fn is None and y2.is_leaf


def test_backward_scalar_and_nonscalar():
    def f(L, x, w):
        y = x * w + x / (w * w + 1)
        y.sum().backward()
        z = x * x
        z.backward(L.ones_like(z) * 0.5)
        return x.grad, w.grad
    e, t, _, _ = both(f, arr(2, 3), arr(3))
    assert_close(e, t)


def test_implicit_grad_only_for_scalars():
    x = ember.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        ember.autograd.grad(x * 2, x)
    # one element of any shape is fine
    (x[0:1, 0:1] * 3).backward()
    assert x.grad[0, 0].item() == 3


@pytest.mark.parametrize("make, exc, msg", [
    (lambda L: L.ones(2, 3) * 2, RuntimeError,
     "element 0 of tensors does not require grad and does not have a grad_fn"),
    (lambda L: L.ones(2, requires_grad=True).sum() * 1, None, None),
])
def test_backward_on_tensor_without_graph(make, exc, msg):
    for L in (ember, torch):
        y = make(L)
        if exc is None:
            y.backward()
        else:
            with pytest.raises(exc, match=msg):
                y.backward(L.ones_like(y))


def test_gradient_argument_errors_match_torch():
    for L in (ember, torch):
        x = L.ones(2, 3, requires_grad=True)
        y = x * 2
        with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a "
                                               r"shape of .*\[3\].* and output\[0\] has a shape"):
            y.backward(L.ones(3))
        with pytest.raises(RuntimeError, match="For complex Tensors, both grad_output and "
                                               "output are required to have the same dtype"):
            y.backward(L.ones(2, 3, dtype=L.complex64))
        with pytest.raises(TypeError, match="gradients can be either Tensors or None, but got "
                                            "float"):
            L.autograd.grad(y.sum(), x, [2.0])
        with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
            L.autograd.grad([y, y], x, [L.ones(2, 3)])
        with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be "
                                               "empty"):
            y.sum().backward(inputs=[])
        with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be "
                                               "empty"):
            L.autograd.grad(y.sum(), [])


def test_root_gradient_is_cast_to_output_dtype():
    def f(L, x):
        y = x * 3
        y.backward(L.ones(3, dtype=L.int64))       # int gradient for a float32 output
        x.backward(L.ones(3, dtype=L.float64))     # float64 gradient for a float32 leaf
        return x.grad
    e, t, _, _ = both(f, arr(3, dtype=np.float32))
    assert_close(e, t)


def test_accumulation_zero_and_none():
    def f(L, x):
        out = []
        for k in range(3):
            (x * (k + 1)).sum().backward()
            out.append(x.grad.clone())
        x.grad.zero_()
        out.append(x.grad.clone())
        (x * x).sum().backward()
        out.append(x.grad.clone())
        x.grad = None
        (x * 5).sum().backward()
        out.append(x.grad)
        return out
    e, t, _, _ = both(f, arr(2, 2))
    assert_close(e, t)


def test_grad_is_not_aliased_with_user_gradient_or_other_leaves():
    g = ember.ones(3)
    x = ember.ones(3, requires_grad=True)
    x.backward(g)                          # a leaf root: .grad must be a copy of g
    x.backward(g)                          # accumulating in place must not change g
    assert g.tolist() == [1, 1, 1] and x.grad.tolist() == [2, 2, 2]
    a = ember.ones(3, requires_grad=True)
    b = ember.ones(3, requires_grad=True)
    (a + b).sum().backward()               # Add hands the same gradient to both sides
    a.grad.zero_()
    assert b.grad.tolist() == [1, 1, 1]
    a2 = ember.ones(3, requires_grad=True)
    b2 = ember.ones(3, requires_grad=True)
    with pytest.warns(UserWarning, match="create_graph=True will create a reference cycle"):
        (a2 + b2).sum().backward(create_graph=True)
    assert a2.grad.data_ptr() != b2.grad.data_ptr()
    y = a2 * 2
    gy = ember.ones(3)
    y.backward(gy)
    y2 = a2.expand(2, 3)                    # Expand passes the user's gradient on as is
    g2 = ember.ones(2, 3)
    y2.backward(g2)
    a2.grad.zero_()
    assert g2.tolist() == [[1, 1, 1]] * 2 and gy.tolist() == [1, 1, 1]


def test_x_plus_x_and_broadcast_accumulate():
    def f(L, x, b):
        (x + x + x * b).sum().backward()
        ((x * b) + b).sum().backward()
        return x.grad, b.grad
    e, t, _, _ = both(f, arr(4, 3), arr(3))
    assert_close(e, t)


@pytest.mark.parametrize("xs, bs", [((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 1, 3), (4, 1)),
                                    ((3,), ()), ((), (2, 2)), ((0, 3), (3,))])
def test_broadcast_gradients_reduced_to_input_shapes(xs, bs):
    def f(L, x, b):
        y = x * b - b / (x * x + 1)
        y.sum().backward()
        return x.grad, b.grad
    e, t, _, _ = both(f, arr(*xs), arr(*bs))
    assert_close(e, t)


def test_retain_grad():
    def f(L, x):
        y = x * 2
        y.retain_grad()
        z = y * y
        z.retain_grad()
        z.sum().backward(retain_graph=True)
        first = (y.grad.clone(), z.grad.clone())
        z.sum().backward()
        return first, y.grad, z.grad, y.retains_grad, x.grad
    e, t, _, _ = both(f, arr(3))
    assert_close(e[:3], t[:3])
    assert e[3] is True and t[3] is True
    assert_close(e[4], t[4])


def test_retain_grad_runs_after_tensor_hooks_and_in_grad():
    def f(L, x):
        y = x * 2
        y.retain_grad()                    # registered first, but runs after the hook
        y.register_hook(lambda g: g * 10)
        y.sum().backward(retain_graph=True)
        a = y.grad.clone()
        y.grad = None
        L.autograd.grad(y.sum(), x)        # autograd.grad also fills a retained .grad
        return a, y.grad, x.grad
    e, t, _, _ = both(f, arr(3))
    assert_close(e, t)


def test_retain_grad_keeps_graph_under_create_graph():
    def f(L, x):
        y = x * x
        y.retain_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (y * y).sum().backward(create_graph=True)
        assert y.grad.requires_grad
        x.grad = None
        y.grad.sum().backward()
        return x.grad
    e, t, _, _ = both(f, arr(3))
    assert_close(e, t)


def test_retain_grad_errors_and_noops():
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has "
                                               "requires_grad=False"):
            L.ones(2).retain_grad()
        x = L.ones(2, requires_grad=True)
        x.retain_grad()                    # a leaf: no-op
        (x * 2).sum().backward()
        assert x.grad.tolist() == [2, 2]
    y = ember.ones(2, requires_grad=True) * 2
    with pytest.warns(UserWarning, match="not a leaf Tensor is being accessed"):
        assert y.grad is None


def test_retain_graph_and_freed_graph_error():
    for L in (ember, torch):
        x = L.ones(3, requires_grad=True)
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        assert x.grad.tolist() == [4, 4, 4]
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second "
                                               "time.*retain_graph=True"):
            y.backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second"):
            y.grad_fn.next_functions[0][0].saved_tensors if L is ember else \
                y.grad_fn.next_functions[0][0]._saved_self
        # nothing saved: walking again is allowed in both
        z = (x + 1).sum()
        z.backward()
        z.backward()


def test_retain_graph_partial_run_then_full():
    """grad() with inputs frees only the nodes it ran: another backward through them raises,
    a backward through the nodes it did not run still works."""
    def f(L, x, w):
        h = x * w                           # not run by the first grad(): keeps x and w
        out = (h * h).sum()
        gh, = L.autograd.grad(out, h)       # runs (and frees) only h * h and the sum
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            out.backward()
        h.backward(L.ones_like(h) * 2)      # the unrun part still has its saved tensors
        return gh, x.grad, w.grad
    e, t, _, _ = both(f, arr(3), arr(3))
    assert_close(e, t)


# ------------------------------------------------------------------------------ autograd.grad
def test_grad_basic_and_does_not_touch_dot_grad():
    def f(L, x, w):
        y = (x * w * x).sum()
        g = L.autograd.grad(y, [x, w])
        return g, x.grad, w.grad
    e, t, _, _ = both(f, arr(2, 3), arr(3))
    assert_close(e[0], t[0])
    assert e[1] is None and e[2] is None


def test_grad_through_nodes_not_leading_to_other_inputs():
    """Only the part of the graph that leads to the requested inputs runs; branches that
    only lead elsewhere are skipped but still count correctly."""
    e, t, _, _ = both(lambda L, x, w, v: L.autograd.grad(((x * w) * v + (x * w) * (x * w))
                                                         .sum(), [w]), arr(3), arr(3), arr(3))
    assert_close(e, t)

    def g(L, x, w, v):
        a = x * w
        out = (a * v + a * a).sum()
        ga, gv = L.autograd.grad(out, [a, v], retain_graph=True)   # a non-leaf input
        gx, = L.autograd.grad(out, [x])
        return ga, gv, gx
    e, t, _, _ = both(g, arr(3), arr(3), arr(3))
    assert_close(e, t)


def test_grad_allow_unused_and_materialize():
    for L in (ember, torch):
        x = L.ones(3, requires_grad=True)
        z = L.ones(2, requires_grad=True)
        y = (x * 2).sum()
        with pytest.raises(RuntimeError, match="The differentiated Tensor at index 1 appears "
                                               "to not have been used in the graph"):
            L.autograd.grad(y, [x, z], retain_graph=True)
        gx, gz = L.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
        assert gz is None and gx.tolist() == [2, 2, 2]
        gx, gz = L.autograd.grad(y, [x, z], materialize_grads=True, retain_graph=True)
        assert gz.tolist() == [0, 0]
        with pytest.raises(ValueError, match="Expected allow_unused to be True or not passed "
                                             "when materialize_grads=True"):
            L.autograd.grad(y, [x, z], materialize_grads=True, allow_unused=False)
        with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not "
                                               "require grad"):
            L.autograd.grad(y, [L.ones(2)])


def test_grad_multiple_roots_duplicates_and_leaf_roots():
    def f(L, x, w):
        y1 = x * w
        y2 = (y1 * x).sum()
        # y1 is both a root and an ancestor of root y2; x appears twice in inputs
        g = L.autograd.grad([y1, y2], [x, w, x], [L.ones_like(y1) * 0.5, None],
                            retain_graph=True)
        # a leaf as a root, and as its own input
        gl = L.autograd.grad([x, y2], [x], [L.ones_like(x), None])
        return g, gl
    e, t, _, _ = both(f, arr(2, 3), arr(3))
    assert_close(e, t)


def test_grad_capture_and_tensor_hooks_order():
    """PyTorch's order: a captured input whose node only is captured sees its hooks' result;
    one whose node also runs (for another input) is captured before its hooks."""
    def f(L, x):
        y = x * 3
        y.register_hook(lambda g: g * 2)
        x.register_hook(lambda g: g + 1)   # leaf hooks run before capture in grad() too
        out = (y * y).sum()
        only_y = L.autograd.grad(out, [y], retain_graph=True)
        return only_y, L.autograd.grad(out, [y, x])
    e, t, _, _ = both(f, arr(3))
    assert_close(e, t)


def test_node_whose_incoming_grads_are_all_none():
    """A node reached only by None gradients still runs (with "no gradient"), so that the
    nodes beyond it are counted down and run for their other branches."""
    class NoGrad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return None

    class NoGradT(torch.autograd.Function):
        forward = NoGrad.forward

        @staticmethod
        def backward(ctx, g):
            return None

    def f(L, x, w):
        fn = NoGrad if L is ember else NoGradT
        a = x * w
        b = fn.apply(a) * a                 # one branch of a gets None
        c = fn.apply(fn.apply(a))           # a chain of None
        (b + c + a).sum().backward()
        return x.grad, w.grad
    e, t, _, _ = both(f, arr(3), arr(3))
    assert_close(e, t)


def test_is_grads_batched():
    def f(L, x):
        y = x * x * x
        g1, = L.autograd.grad(y, x, L.eye(3, dtype=L.float64) * 2, is_grads_batched=True,
                              retain_graph=True)
        g2, = L.autograd.grad(y, x, L.eye(3, dtype=L.float64), is_grads_batched=True,
                              create_graph=True)
        assert g2.requires_grad
        g2.sum().backward()
        return g1, g2, x.grad
    e, t, _, _ = both(f, arr(3))
    assert_close(e, t)
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="If `is_grads_batched=True`, we interpret the first"):
        ember.autograd.grad(x * 2, x, ember.ones(2, 2), is_grads_batched=True)


def test_backward_inputs_argument():
    def f(L, x, w):
        y = x * w
        z = y * y
        z.sum().backward(inputs=[w], retain_graph=True)
        first = (x.grad, w.grad.clone())
        z.sum().backward(inputs=[y, x, x], retain_graph=True)   # non-leaf input, duplicates
        L.autograd.backward(z.sum(), inputs=x)
        return first, w.grad, y.grad, x.grad
    e, t, _, _ = both(f, arr(3), arr(3))
    assert_close(e, t)


def test_autograd_backward_function():
    def f(L, x, w):
        a = x * w
        b = (x * x).sum()
        L.autograd.backward([a, b], [L.ones_like(a), None], retain_graph=True)
        L.autograd.backward(a.sum() * 2, grad_tensors=None, retain_graph=False)
        return x.grad, w.grad
    e, t, _, _ = both(f, arr(3), arr(3))
    assert_close(e, t)


# ------------------------------------------------------------------------------ higher order
def test_create_graph_second_and_third_derivative():
    def f(L, x):
        y = (x * x * x).sum()
        g, = L.autograd.grad(y, x, create_graph=True)        # 3x^2
        h, = L.autograd.grad(g.sum(), x, create_graph=True)  # 6x
        k, = L.autograd.grad(h.sum(), x)                     # 6
        return g, h, k
    e, t, _, _ = both(f, arr(4))
    assert_close(e, t)
    assert e[0].requires_grad and e[0].grad_fn is not None and not e[2].requires_grad


def test_backward_create_graph_then_backward_again():
    def f(L, x, w):
        y = (x * x * w).sum()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y.backward(create_graph=True)
        gx = x.grad                         # 2 x w, with a graph
        assert gx.requires_grad
        x.grad = None
        (gx * gx).sum().backward()          # d/dx, d/dw of sum((2xw)^2)
        return x.grad, w.grad
    e, t, _, _ = both(f, arr(3), arr(3))
    assert_close(e, t)


def test_wgan_gp_gradient_penalty():
    """WGAN-GP: the gradient of a critic at interpolated points is penalised; the penalty's
    gradient with respect to the critic's weights needs double backward."""
    w1, b1, w2 = arr(4, 5), arr(5), arr(5, 1)
    real, fake, eps = arr(6, 4), arr(6, 4), arr(6, 1, low=0, high=1)

    def f(L, w1, b1, w2, real, fake, eps):
        x = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
        h = L.tanh(x @ w1 + b1)
        critic = h @ w2
        g, = L.autograd.grad(critic, x, L.ones_like(critic), create_graph=True)
        penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
        loss = critic.mean() + 10 * penalty
        loss.backward()
        return loss, w1.grad, b1.grad, w2.grad
    e, t, _, _ = both(f, w1, b1, w2, real, fake, eps)
    assert_close(e, t)


def test_hessian_vector_product_matches_torch():
    A, v, x0 = arr(4, 4), arr(4), arr(4)

    def f(L, A, v, x):
        y = L.sin(x @ A @ x) + (x * x * x).sum()
        g, = L.autograd.grad(y, x, create_graph=True)
        hv, = L.autograd.grad(g, x, v)
        return hv, g
    e, t, _, _ = both(f, A, v, x0)
    assert_close(e, t)


def test_double_backward_through_broadcast_reduction():
    def f(L, x, b):
        y = (x * b * b).sum()
        gb, = L.autograd.grad(y, b, create_graph=True)        # summed over the broadcast dim
        (gb * gb).sum().backward()
        return gb, x.grad, b.grad
    e, t, _, _ = both(f, arr(4, 3), arr(3))
    assert_close(e, t)


# ------------------------------------------------------------------------------ hooks
def test_tensor_hooks_modify_and_remove():
    def f(L, x):
        y = x * 2
        hy = y.register_hook(lambda g: g * 3)
        hx = x.register_hook(lambda g: g + 1)
        (y * y).sum().backward(retain_graph=True)
        first = x.grad.clone()
        hy.remove()
        hx.remove()
        x.grad = None
        (y * y).sum().backward()
        return first, x.grad
    e, t, _, _ = both(f, arr(3))
    assert_close(e, t)


def test_hook_errors():
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                               "require gradient"):
            L.ones(2).register_hook(lambda g: g)
        x = L.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered "
                                               "on non-leaf tensors"):
            (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_hook_order_matches_torch():
    def run(L):
        order = []
        x = L.ones(3, requires_grad=True)
        y = x * 2
        y.register_hook(lambda g: order.append("tensor1"))
        y.grad_fn.register_prehook(lambda go: order.append("pre"))
        y.grad_fn.register_hook(lambda gi, go: order.append("post"))
        y.register_hook(lambda g: order.append("tensor2"))
        acc = y.grad_fn.next_functions[0][0]
        acc.register_prehook(lambda go: order.append("acc_pre"))
        acc.register_hook(lambda gi, go: order.append(("acc_post", len(gi), len(go))))
        x.register_hook(lambda g: order.append("leaf"))
        x.register_post_accumulate_grad_hook(lambda t: order.append(("post_acc",
                                                                      t.grad.tolist())))
        y.sum().backward(retain_graph=True)
        order.append("|")
        L.autograd.grad(y.sum(), x)       # grad(): the AccumulateGrad node does not run
        return order
    assert run(ember) == run(torch)


def test_node_hooks_can_replace_gradients_and_be_removed():
    def f(L, x, w):
        y = x * w
        h1 = y.grad_fn.register_prehook(lambda go: (go[0] * 2,))
        h2 = y.grad_fn.register_hook(lambda gi, go: (gi[0] + 1, None))
        y.sum().backward(retain_graph=True)
        first = (x.grad.clone(), w.grad)
        h1.remove()
        h2.remove()
        x.grad = None
        y.sum().backward()
        return first, x.grad
    e, t, _, _ = both(f, arr(3), arr(3))
    assert_close(e, t)


def test_post_accumulate_grad_hook_sees_accumulated_grad():
    def f(L, x):
        seen = []
        h = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        h.remove()
        (x * 4).sum().backward()
        return seen, x.grad
    e, t, _, _ = both(f, arr(2))
    assert_close(e, t)


# ------------------------------------------------------------------------------ grad modes
def test_no_grad_enable_grad_nesting_and_decorators():
    for L in (ember, torch):
        x = L.ones(2, requires_grad=True)
        with L.no_grad():
            assert not L.is_grad_enabled()
            assert not (x * 2).requires_grad
            with L.enable_grad():
                assert (x * 2).requires_grad
            assert not (x * 2).requires_grad
        assert L.is_grad_enabled()

        @L.no_grad()
        def f1():
            return L.is_grad_enabled()

        @L.no_grad
        def f2():
            return L.is_grad_enabled()

        @L.enable_grad
        def f3():
            return L.is_grad_enabled()

        assert not f1() and not f2()
        with L.no_grad():
            assert f3()

        @L.no_grad()
        def gen():
            yield L.is_grad_enabled()
            yield L.is_grad_enabled()
        it = gen()
        assert next(it) is False and L.is_grad_enabled() and next(it) is False


def test_set_grad_enabled_function_context_and_decorator():
    for L in (ember, torch):
        L.set_grad_enabled(False)
        assert not L.is_grad_enabled()
        L.set_grad_enabled(True)
        assert L.is_grad_enabled()
        with L.set_grad_enabled(False):
            assert not L.is_grad_enabled()
            with L.set_grad_enabled(True):
                assert L.is_grad_enabled()
            assert not L.is_grad_enabled()
        assert L.is_grad_enabled()

        @L.set_grad_enabled(False)
        def f():
            return L.is_grad_enabled()
        assert L.is_grad_enabled()            # decorating does not switch the mode
        assert f() is False and L.is_grad_enabled()
        with pytest.raises(TypeError, match="must be bool, not int"):
            L.set_grad_enabled(1)


def test_inference_mode():
    for L in (ember, torch):
        x = L.ones(2, requires_grad=True)
        with L.inference_mode():
            assert L.is_inference_mode_enabled() and not L.is_grad_enabled()
            y = x * 2
            with L.inference_mode(False):
                assert L.is_grad_enabled() and not L.is_inference_mode_enabled()
        assert y.is_inference() and not y.requires_grad and not x.is_inference()
        for op in (lambda: y.zero_(), lambda: y.__setitem__(0, 5.0), lambda: y.exp_()):
            with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside "
                                                   "InferenceMode is not allowed"):
                op()
        with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for "
                                               "backward"):
            (x * y).sum().backward()
        with pytest.raises(RuntimeError, match="Setting requires_grad=True on inference tensor "
                                               "outside InferenceMode is not allowed"):
            y.requires_grad_()

        @L.inference_mode
        def f():
            return L.is_inference_mode_enabled(), L.is_grad_enabled()

        @L.inference_mode(False)
        def g():
            return L.is_inference_mode_enabled(), L.is_grad_enabled()
        assert f() == (True, False)
        with L.no_grad():
            assert g() == (False, True)
        assert not L.is_inference_mode_enabled() and L.is_grad_enabled()


def test_tensors_created_in_inference_mode_are_inference_tensors():
    for L in (ember, torch):
        with L.inference_mode():
            t = L.ones(2)
        assert t.is_inference()


def test_inplace_arithmetic_on_inference_tensor_outside_inference_mode():
    for L in (ember, torch):
        with L.inference_mode():
            y = L.ones(2, requires_grad=True) * 2
        with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside "
                                               "InferenceMode is not allowed"):
            y.add_(1)


def test_anomaly_queries_at_top_level():
    for L in (ember, torch):
        assert L.is_anomaly_enabled() is False and L.is_anomaly_check_nan_enabled() is True


def test_grad_mode_is_thread_local():
    seen = {}

    def worker():
        seen["grad"] = ember.is_grad_enabled()
        x = ember.ones(2, requires_grad=True)
        seen["records"] = (x * 2).requires_grad
        with ember.no_grad():
            seen["inner"] = ember.is_grad_enabled()

    with ember.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not ember.is_grad_enabled()     # the worker's no_grad did not leak here
    assert seen == {"grad": True, "records": True, "inner": False}


def test_backward_runs_under_create_graph_mode():
    """Inside backward, hooks see grad mode == create_graph (as in PyTorch)."""
    for L in (ember, torch):
        modes = []
        x = L.ones(2, requires_grad=True)
        y = x * 2
        y.register_hook(lambda g: modes.append(L.is_grad_enabled()))
        y.sum().backward(retain_graph=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y.sum().backward(create_graph=True)
        s = y.sum()
        with L.no_grad():
            s.backward()
        assert modes == [False, True, False]


# ------------------------------------------------------------------------------ anomaly mode
def test_detect_anomaly_names_div_backward():
    for L in (ember, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with L.autograd.detect_anomaly():
                assert (ember.autograd if L is ember else torch).is_anomaly_enabled()
                a = L.zeros(1, requires_grad=True)
                b = L.zeros(1, requires_grad=True)
                with pytest.raises(RuntimeError, match="Function 'DivBackward0' returned nan "
                                                       "values in its 1th output"):
                    (a / b).backward()
        messages = [str(m.message) for m in w]
        assert any("Anomaly Detection has been enabled" in m for m in messages)
        assert any("Error detected in DivBackward0" in m and "test_autograd.py" in m
                   for m in messages)


def test_set_detect_anomaly_names_sqrt_backward():
    for L in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            L.autograd.set_detect_anomaly(True)
            try:
                x = L.zeros(2, requires_grad=True)
                with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan "
                                                       "values in its 0th output"):
                    (L.sqrt(x) * 0).sum().backward()
                with L.autograd.set_detect_anomaly(True, check_nan=False):
                    (L.sqrt(x) * 0).sum().backward()     # NaN allowed through
                    assert bool(L.isnan(x.grad).all())
            finally:
                L.autograd.set_detect_anomaly(False)
        assert not (ember.autograd if L is ember else torch).is_anomaly_enabled()
    # without anomaly mode, the NaN just propagates
    x = ember.zeros(2, requires_grad=True)
    (ember.sqrt(x) * 0).sum().backward()
    assert np.isnan(x.grad.numpy()).all()


def test_anomaly_mode_reports_forward_trace_of_failing_backward():
    class Boom(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom in backward")

    x = ember.ones(2, requires_grad=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with ember.autograd.detect_anomaly():
            y = Boom.apply(x)
            with pytest.raises(ValueError, match="boom in backward"):
                y.sum().backward()
    assert any("Error detected in BoomBackward" in str(m.message) and "Boom.apply" in
               str(m.message) for m in w)


# ------------------------------------------------------------------------------ scale
def test_100k_op_chain_has_no_recursion_limit():
    x = ember.ones(3, dtype=ember.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.00001 ** 100_000, rtol=1e-9)


def test_memory_is_flat_over_training_iterations():
    """The graph is freed after each backward: nothing accumulates across 10,000 small
    training-style steps (traced Python allocations and live object counts)."""
    w = ember.tensor(arr(4, 3), requires_grad=True)
    b = ember.zeros(3, dtype=ember.float64, requires_grad=True)
    data = ember.tensor(arr(5, 4))

    def step():
        h = (data.reshape(5, 4, 1) * w).sum(1) + b
        loss = (h * h).mean()
        loss.backward()
        with ember.no_grad():
            w.sub_(w.grad * 0.01)
            b.sub_(b.grad * 0.01)
        w.grad.zero_()
        b.grad = None

    for _ in range(100):
        step()
    gc.collect()
    objs0 = len(gc.get_objects())
    for _ in range(10_000):
        step()
    gc.collect()
    objs1 = len(gc.get_objects())
    assert objs1 - objs0 < 50, (objs0, objs1)           # no graph objects survive a step
    # traced allocations (slower to run, so over fewer steps): flat as well
    tracemalloc.start()
    try:
        for _ in range(200):
            step()
        gc.collect()
        mem0 = tracemalloc.get_traced_memory()[0]
        for _ in range(1500):
            step()
        gc.collect()
        mem1 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert mem1 - mem0 < 15_000, (mem0, mem1)           # < 10 bytes per step


def test_graph_is_released_after_backward():
    import weakref
    x = ember.ones(3, requires_grad=True)
    y = x * x
    node = weakref.ref(y.grad_fn)
    loss = y.sum()
    loss.backward()
    assert y.grad_fn._saved == ()                  # saved tensors dropped at once
    del y, loss
    gc.collect()
    assert node() is None


# ------------------------------------------------------------------------------ functional
F_CASES = {
    "one_to_one": (lambda L, x: x * x * x, [(3,)]),
    "two_to_one": (lambda L, x, y: (x * y).sum(1) / (y * y + 1).sum(), [(2, 3), (2, 3)]),
    "one_to_two": (lambda L, x: (x * 2, (x * x).sum()), [(2, 2)]),
}


@pytest.mark.parametrize("case", list(F_CASES))
@pytest.mark.parametrize("vectorize", [False, True])
def test_functional_jacobian(case, vectorize):
    fn, shapes = F_CASES[case]
    arrays = [arr(*s) for s in shapes]
    e_in, t_in = pair(*arrays)
    e_in = e_in[0] if len(e_in) == 1 else tuple(e_in)
    t_in = t_in[0] if len(t_in) == 1 else tuple(t_in)
    e = ember.autograd.functional.jacobian(lambda *a: fn(ember, *a), e_in, vectorize=vectorize)
    t = torch.autograd.functional.jacobian(lambda *a: fn(torch, *a), t_in, vectorize=vectorize)
    assert_close(e, t)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_functional_strategies_with_vectorize(strategy):
    x0, y0 = arr(2, 3), arr(3)
    res = {}
    for L in (ember, torch):
        x, y = L.tensor(x0.copy()), L.tensor(y0.copy())
        F = L.autograd.functional
        jac = F.jacobian(lambda a, b: (a * b).sum(0) * b, (x, y), vectorize=True,
                         strategy=strategy)
        hess = F.hessian(lambda a, b: (a * a * b).sum(), (x, y), vectorize=True,
                         outer_jacobian_strategy=strategy)
        res[L] = (jac, hess)
    assert_close(res[ember], res[torch])
    for L in (ember, torch):
        x = L.ones(2, dtype=L.float64)
        with pytest.raises(NotImplementedError, match="`create_graph=True` and "
                                                      '`strategy="forward-mode"` are not '
                                                      "supported together"):
            L.autograd.functional.jacobian(lambda a: a * 2, x, create_graph=True,
                                           strategy="forward-mode", vectorize=True)


def test_functional_jacobian_create_graph_and_strict():
    x0 = arr(3)
    e_x, t_x = pair(x0)
    e = ember.autograd.functional.jacobian(lambda x: x * x, e_x[0], create_graph=True)
    t = torch.autograd.functional.jacobian(lambda x: x * x, t_x[0], create_graph=True)
    assert e.requires_grad
    e.sum().backward()
    t.sum().backward()
    assert_close(e_x[0].grad, t_x[0].grad)
    for L in (ember, torch):
        x = L.ones(2, dtype=L.float64)
        y = L.ones(2, dtype=L.float64)
        with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is "
                                               "independent of input 1"):
            L.autograd.functional.jacobian(lambda a, b: a * 2, (x, y), strict=True)
        with pytest.raises(RuntimeError, match="`strict=True` and `vectorized=True` are not "
                                               "supported together"):
            L.autograd.functional.jacobian(lambda a: a * 2, x, strict=True, vectorize=True)
        with pytest.raises(AssertionError, match='Expected strategy to be either '
                                                 '"forward-mode" or "reverse-mode"'):
            L.autograd.functional.jacobian(lambda a: a * 2, x, strategy="sideways")
        with pytest.raises(TypeError, match="The inputs given to jacobian must be either a "
                                            "Tensor or a tuple of Tensors"):
            L.autograd.functional.jacobian(lambda a: a, [x, 3])
        # unused inputs give zeros without strict
        j = L.autograd.functional.jacobian(lambda a, b: a * 2, (x, y))
        assert j[1].tolist() == [[0, 0], [0, 0]]


def test_functional_hessian():
    def fn(L, x, y):
        return (x * x * y).sum() + (y * y * y).sum() / 3
    x0, y0 = arr(3), arr(3)
    e_in, t_in = pair(x0, y0)
    e = ember.autograd.functional.hessian(lambda *a: fn(ember, *a), tuple(e_in))
    t = torch.autograd.functional.hessian(lambda *a: fn(torch, *a), tuple(t_in))
    assert_close(e, t)
    e1 = ember.autograd.functional.hessian(lambda x: (x * x * x).sum(), e_in[0])
    t1 = torch.autograd.functional.hessian(lambda x: (x * x * x).sum(), t_in[0])
    assert_close(e1, t1)
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="should contain a single element"):
            L.autograd.functional.hessian(lambda x: x * x, L.ones(2, dtype=L.float64))


@pytest.mark.parametrize("which", ["vjp", "jvp", "vhp", "hvp"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_functional_products(which, create_graph):
    def scalar_fn(L, x, y):
        return (x * x * y).sum() + (x * y * y).sum()

    def vec_fn(L, x, y):
        return x * y * x, (y / (x * x + 1)).sum(0)
    fn = scalar_fn if which in ("vhp", "hvp") else vec_fn
    x0, y0 = arr(2, 3), arr(2, 3)
    if which == "vjp":
        vs = (arr(2, 3), arr(3))
    else:
        vs = (arr(2, 3), arr(2, 3))
    res = {}
    for L in (ember, torch):
        x = L.tensor(x0.copy(), requires_grad=True)
        y = L.tensor(y0.copy(), requires_grad=True)
        v = tuple(L.tensor(a.copy()) for a in vs)
        out, prod = getattr(L.autograd.functional, which)(lambda a, b: fn(L, a, b), (x, y), v,
                                                          create_graph=create_graph)
        flat = prod if isinstance(prod, tuple) else (prod,)
        assert all(p.requires_grad == create_graph for p in flat)
        extra = None
        if create_graph:
            sum(p.sum() for p in flat).backward()
            extra = (x.grad, y.grad)
        res[L] = (out, prod, extra)
    assert_close(res[ember], res[torch])


def test_functional_single_tensor_forms_and_errors():
    x0 = arr(3)
    for which in ("vjp", "jvp", "vhp", "hvp"):
        res = {}
        for L in (ember, torch):
            x = L.tensor(x0.copy())
            v = L.ones(3, dtype=L.float64)
            f = (lambda a: (a * a * a).sum()) if which in ("vhp", "hvp") else (lambda a: a * a)
            res[L] = getattr(L.autograd.functional, which)(f, x, v)
        assert_close(res[ember], res[torch])
    for L in (ember, torch):
        x = L.ones(3, dtype=L.float64)
        F = L.autograd.functional
        with pytest.raises(RuntimeError, match="The vector v can only be None if the user-"
                                               "provided function returns a single Tensor "
                                               "with a single element"):
            F.vjp(lambda a: a * 2, x)
        with pytest.raises(RuntimeError, match="The vector v can only be None if the input to "
                                               "the user-provided function is a single Tensor"):
            F.jvp(lambda a: a * 2, x)
        with pytest.raises(RuntimeError, match="v has invalid size: should be .*3.* but got "
                                               ".*2"):
            F.vjp(lambda a: a * 2, x, L.ones(2, dtype=L.float64))
        with pytest.raises(RuntimeError, match="v is a tuple of invalid length: should be 2 but "
                                               "got 1"):
            F.jvp(lambda a, b: a * b, (x, x), (x,))
        with pytest.raises(RuntimeError, match="The function given to hvp should return a "
                                               "single Tensor"):
            F.hvp(lambda a: (a.sum(), a.sum()), x, x)
        with pytest.raises(RuntimeError, match="The Tensor returned by the function given to "
                                               "vhp should contain a single element"):
            F.vhp(lambda a: a * 2, x, x)
        with pytest.raises(RuntimeError, match="The output of the user-provided function is "
                                               "independent of input 1"):
            F.vjp(lambda a, b: (a * 2).sum(), (x, x.clone()), strict=True)
        # jvp through an input returned unchanged
        out, jv = F.jvp(lambda a: a, x, L.full((3,), 2.0, dtype=L.float64))
        assert jv.tolist() == [2, 2, 2]
