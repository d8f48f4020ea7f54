"""ember.optim.lr_scheduler against PyTorch: the learning-rate (and momentum) sequences of
every scheduler and option set, state-dict round trips, warnings and errors."""
from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
from oracle import requires_torch, torch

import ember
import ember.optim as eo
from ember.optim import lr_scheduler as es

pytestmark = requires_torch

if torch is not None:
    from torch.optim import lr_scheduler as ts


class Lib:
    def __init__(self, mod, sched):
        self.mod, self.sched = mod, sched

    def optimizer(self, name="SGD", lrs=(0.1, 0.2), **kw):
        params = [self.mod.nn.Parameter(self.mod.ones(2)) for _ in lrs]
        groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
        return getattr(self.mod.optim, name)(groups, **kw)

    def make(self, name, opt, kw):
        kw = kw(self) if callable(kw) else dict(kw)
        return getattr(self.sched, name)(opt, **kw)


EM, TO = Lib(ember, es), Lib(torch, ts) if torch is not None else None


def _groups_state(opt):
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


def _assert_same(oe, ot, se, st, where):
    ge, gt = _groups_state(oe), _groups_state(ot)
    for (lr_e, m_e, b_e), (lr_t, m_t, b_t) in zip(ge, gt):
        assert math.isclose(lr_e, lr_t, rel_tol=1e-13, abs_tol=1e-300), (where, ge, gt)
        assert (m_e is None) == (m_t is None) and (b_e is None) == (b_t is None)
        if m_e is not None:
            assert math.isclose(m_e, m_t, rel_tol=1e-13), (where, ge, gt)
        if b_e is not None:
            np.testing.assert_allclose(b_e, b_t, rtol=1e-13, err_msg=str(where))
    np.testing.assert_allclose(se.get_last_lr(), st.get_last_lr(), rtol=1e-13)


RNG = np.random.default_rng(0)
PLATEAU_METRIC = list(np.maximum.accumulate(RNG.random(60))[::-1] + 0.01 * RNG.random(60))
NOISY_METRIC = list(RNG.random(60))


def _seq(lib):
    return dict(schedulers=[lib.sched.ConstantLR(lib.opt, factor=0.1, total_iters=3),
                            lib.sched.ExponentialLR(lib.opt, gamma=0.9),
                            lib.sched.StepLR(lib.opt, step_size=4, gamma=0.5)],
                milestones=[5, 20])


def _seq_linear_cos(lib):
    return dict(schedulers=[lib.sched.LinearLR(lib.opt, start_factor=0.1, total_iters=10),
                            lib.sched.CosineAnnealingLR(lib.opt, T_max=30, eta_min=1e-3)],
                milestones=[10])


# name, kwargs, optimizer (name, kwargs), how step is called
CASES = [
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e), None, None),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1 / (e + 1), lambda e: 0.5]), None, None),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.97), None, None),
    ("MultiplicativeLR", dict(lr_lambda=[lambda e: 0.9, lambda e: 1.01]), None, None),
    ("StepLR", dict(step_size=7), None, None),
    ("StepLR", dict(step_size=3, gamma=0.5), None, None),
    ("MultiStepLR", dict(milestones=[5, 5, 20, 30], gamma=0.5), None, None),
    ("ConstantLR", {}, None, None),
    ("ConstantLR", dict(factor=0.5, total_iters=10), None, None),
    ("LinearLR", {}, None, None),
    ("LinearLR", dict(start_factor=0.2, end_factor=0.9, total_iters=20), None, None),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=40), None, None),
    ("ExponentialLR", dict(gamma=0.9), None, None),
    ("PolynomialLR", {}, None, None),
    ("PolynomialLR", dict(total_iters=30, power=2.0), None, None),
    ("CosineAnnealingLR", dict(T_max=10), None, None),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01), None, None),
    ("CosineAnnealingWarmRestarts", dict(T_0=5), None, None),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=2, eta_min=0.01), None, None),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=2, eta_min=0.01), None,
     [i * 0.37 for i in range(60)]),
    ("CosineAnnealingWarmRestarts", dict(T_0=3), None, [i * 0.7 for i in range(60)]),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4), ("SGD", {"momentum": 0.9}),
     None),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=6,
                      mode="triangular2"), ("SGD", {"momentum": 0.9}), None),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=5, mode="exp_range",
                      gamma=0.97), ("Adam", {}), None),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False),
     None, None),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 0.9 ** x,
                      scale_mode="iterations", base_momentum=0.5, max_momentum=[0.9, 0.8]),
     ("SGD", {"momentum": 0.9}), None),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=60), ("SGD", {"momentum": 0.9}), None),
    ("OneCycleLR", dict(max_lr=[1.0, 0.5], epochs=6, steps_per_epoch=10, three_phase=True,
                        anneal_strategy="linear", div_factor=10, final_div_factor=100),
     ("Adam", {}), None),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=60, pct_start=0.5, cycle_momentum=False,
                        base_momentum=0.7), None, None),
    ("ReduceLROnPlateau", dict(patience=2, cooldown=1, factor=0.5, min_lr=[0.01, 0.001]),
     None, PLATEAU_METRIC),
    ("ReduceLROnPlateau", dict(mode="max", threshold_mode="abs", threshold=0.1, patience=0),
     None, NOISY_METRIC),
    # eps: group 0's reduction 0.1 -> 0.05 is not larger than eps and is skipped
    ("ReduceLROnPlateau", dict(threshold=0.5, factor=0.5, eps=0.05, patience=1), None,
     PLATEAU_METRIC),
    ("SequentialLR", _seq, None, None),
    ("SequentialLR", _seq_linear_cos, None, None),
]


def _case_id(case):
    # positional: some options are lambdas, whose reprs differ between processes
    name, kw, opt, how = case
    return f"{name}-{CASES.index(case)}"


def _drive(case, steps=60):
    name, kw, opt, how = case
    opt_name, opt_kw = opt or ("SGD", {"momentum": 0.9})
    out = []
    for lib in (EM, TO):
        o = lib.optimizer(opt_name, **opt_kw)
        lib.opt = o
        out.append((o, lib.make(name, o, kw)))
    (oe, se), (ot, st) = out
    _assert_same(oe, ot, se, st, "init")
    seen = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the deprecated step(epoch) form warns
        for i in range(steps):
            oe.step()
            ot.step()
            if how is None:
                se.step()
                st.step()
            else:
                se.step(how[i])
                st.step(how[i])
            _assert_same(oe, ot, se, st, i)
            seen.add(tuple(se.get_last_lr()))
    return seen


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_schedule_matches_torch(case):
    seen = _drive(case)
    assert len(seen) > 1          # the schedule actually changed the rates


def test_chained_scheduler_matches_torch():
    res = []
    for lib in (EM, TO):
        o = lib.optimizer("SGD", momentum=0.9)
        s = lib.sched.ChainedScheduler([lib.sched.ConstantLR(o, factor=0.1, total_iters=2),
                                        lib.sched.ExponentialLR(o, gamma=0.9),
                                        lib.sched.CosineAnnealingLR(o, T_max=8)])
        seq = []
        for _ in range(30):
            o.step()
            s.step()
            seq.append(s.get_last_lr() + [g["lr"] for g in o.param_groups])
        res.append(seq)
    np.testing.assert_allclose(res[0], res[1], rtol=1e-13)


CLOSED_FORM = [("StepLR", dict(step_size=3, gamma=0.5)), ("MultiStepLR", dict(milestones=[2, 5])),
               ("ConstantLR", dict(factor=0.5, total_iters=4)),
               ("LinearLR", dict(start_factor=0.2, total_iters=6)),
               ("ExponentialLR", dict(gamma=0.8)), ("PolynomialLR", dict(total_iters=8)),
               ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
               ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e)))]


@pytest.mark.parametrize("name,kw", CLOSED_FORM, ids=[c[0] for c in CLOSED_FORM])
def test_step_with_epoch_uses_closed_form(name, kw):
    epochs = [3, 1, 7, 7, 10, 0, 4]
    seqs = []
    for lib in (EM, TO):
        o = lib.optimizer()
        s = lib.make(name, o, kw)
        seq = []
        for e in epochs:
            o.step()
            with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
                s.step(e)
            seq.append(s.get_last_lr())
        seqs.append(seq)
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-13)


# ---------------------------------------------------------------------------------------
# state dicts

RESUMABLE = [c for c in CASES if c[0] not in ("SequentialLR",)] + [CASES[-1]]


@pytest.mark.parametrize("case", RESUMABLE, ids=[_case_id(c) for c in RESUMABLE])
def test_state_dict_round_trip(case):
    """Save after 20 steps, load into a fresh optimizer and scheduler, continue: the same
    rates as an uninterrupted run."""
    name, kw, opt, how = case
    opt_name, opt_kw = opt or ("SGD", {"momentum": 0.9})
    step_arg = how or [None] * 40

    def step(s, i):
        if step_arg[i] is None:
            s.step()
        else:
            s.step(step_arg[i])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o_full = EM.optimizer(opt_name, **opt_kw)
        EM.opt = o_full
        s_full = EM.make(name, o_full, kw)
        full = []
        for i in range(40):
            o_full.step()
            step(s_full, i)
            full.append(_groups_state(o_full))

        o_a = EM.optimizer(opt_name, **opt_kw)
        EM.opt = o_a
        s_a = EM.make(name, o_a, kw)
        for i in range(20):
            o_a.step()
            step(s_a, i)
        opt_sd = pickle.loads(pickle.dumps(o_a.state_dict()))
        sched_sd = s_a.state_dict()
        if "lr_lambdas" not in sched_sd and "_scale_fn_custom" not in sched_sd \
                and name != "SequentialLR":
            sched_sd = pickle.loads(pickle.dumps(sched_sd))

        o_b = EM.optimizer(opt_name, **opt_kw)
        EM.opt = o_b
        s_b = EM.make(name, o_b, kw)        # schedulers are built before loading
        o_b.load_state_dict(opt_sd)
        s_b.load_state_dict(sched_sd)
        resumed = []
        for i in range(20, 40):
            o_b.step()
            step(s_b, i)
            resumed.append(_groups_state(o_b))
    assert resumed == full[20:]


def test_state_dict_contents_match_torch():
    for name, kw in [("StepLR", dict(step_size=3)), ("CosineAnnealingLR", dict(T_max=4)),
                     ("OneCycleLR", dict(max_lr=1.0, total_steps=20))]:
        sds = []
        for lib in (EM, TO):
            o = lib.optimizer("SGD", momentum=0.9)
            s = lib.make(name, o, kw)
            o.step()
            s.step()
            sds.append(s.state_dict())
        assert sorted(sds[0]) == sorted(sds[1]), name
        for key in sds[1]:
            if key not in ("_anneal_func_type",):
                assert sds[0][key] == sds[1][key], (name, key)


def test_lambda_state_dict_saves_callable_objects():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate ** epoch

    o = EM.optimizer()
    s = es.LambdaLR(o, [Decay(0.9), lambda e: 1.0])
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.9}, None]
    s2 = es.LambdaLR(EM.optimizer(), [Decay(0.5), lambda e: 1.0])
    s2.load_state_dict(sd)
    assert s2.lr_lambdas[0].rate == 0.9


# ---------------------------------------------------------------------------------------
# warnings, errors, misc

def test_warns_when_scheduler_steps_before_optimizer():
    for lib in (EM, TO):
        o = lib.optimizer()
        s = lib.sched.StepLR(o, step_size=2)
        with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before "
                                             "`optimizer.step\\(\\)`"):
            s.step()
        o.step()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s.step()            # no warning once the order is right


def test_warns_when_optimizer_step_is_replaced():
    o = EM.optimizer()
    s = es.StepLR(o, step_size=2)
    o.step = lambda *a, **k: None
    with pytest.warns(UserWarning, match="Seems like `optimizer.step\\(\\)` has been "
                                         "overridden"):
        s.step()


def test_no_warning_in_the_right_order():
    o = EM.optimizer()
    s = es.ExponentialLR(o, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            o.step()
            s.step()
    assert s.get_last_lr() == pytest.approx([0.0125, 0.025])
    assert o.param_groups[0]["initial_lr"] == 0.1
    assert s.base_lrs == [0.1, 0.2] and s.last_epoch == 3


def test_get_lr_outside_step_warns():
    s = es.StepLR(EM.optimizer(), step_size=2)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        s.get_lr()


def test_two_schedulers_on_one_optimizer_share_the_step_wrapper():
    o = EM.optimizer()
    es.StepLR(o, step_size=2)
    wrapped = o.step
    es.ExponentialLR(o, gamma=0.9)
    assert o.step is wrapped and o.step._wrapped_by_lr_sched


def test_tensor_lr_is_filled_in_place():
    for lib in (EM, TO):
        p = lib.mod.nn.Parameter(lib.mod.ones(2))
        lr = lib.mod.tensor(0.1)
        o = lib.mod.optim.Adam([p], lr=lr)
        s = lib.sched.ExponentialLR(o, gamma=0.5)
        o.step()
        s.step()
        assert o.param_groups[0]["lr"] is lr
        assert float(lr) == pytest.approx(0.05)
        assert isinstance(s.get_last_lr()[0], lib.mod.Tensor)
        assert s.get_last_lr()[0] is not lr


def _outcome(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch.optim", "ember.optim")


ERRORS = [
    ("StepLR", lambda lib: dict(optimizer=object(), step_size=2)),
    ("StepLR", lambda lib: dict(optimizer=lib.optimizer(), step_size=2, last_epoch=3)),
    ("ConstantLR", lambda lib: dict(optimizer=lib.optimizer(), factor=1.5)),
    ("LinearLR", lambda lib: dict(optimizer=lib.optimizer(), start_factor=0)),
    ("LinearLR", lambda lib: dict(optimizer=lib.optimizer(), end_factor=2)),
    ("LambdaLR", lambda lib: dict(optimizer=lib.optimizer(), lr_lambda=[lambda e: 1])),
    ("MultiplicativeLR", lambda lib: dict(optimizer=lib.optimizer(), lr_lambda=[1, 2])),
    ("CosineAnnealingWarmRestarts", lambda lib: dict(optimizer=lib.optimizer(), T_0=0)),
    ("CosineAnnealingWarmRestarts", lambda lib: dict(optimizer=lib.optimizer(), T_0=2,
                                                     T_mult=1.5)),
    ("CosineAnnealingWarmRestarts", lambda lib: dict(optimizer=lib.optimizer(), T_0=2,
                                                     eta_min="a")),
    ("CyclicLR", lambda lib: dict(optimizer=lib.optimizer(), base_lr=0.1, max_lr=1,
                                  mode="bad")),
    ("CyclicLR", lambda lib: dict(optimizer=lib.optimizer(), base_lr=[0.1], max_lr=1)),
    ("CyclicLR", lambda lib: dict(optimizer=lib.optimizer("Adagrad"), base_lr=0.1, max_lr=1)),
    ("OneCycleLR", lambda lib: dict(optimizer=lib.optimizer(), max_lr=1)),
    ("OneCycleLR", lambda lib: dict(optimizer=lib.optimizer(), max_lr=1, total_steps=0)),
    ("OneCycleLR", lambda lib: dict(optimizer=lib.optimizer(), max_lr=1, epochs=0,
                                    steps_per_epoch=2)),
    ("OneCycleLR", lambda lib: dict(optimizer=lib.optimizer(), max_lr=1, epochs=2,
                                    steps_per_epoch=-1)),
    ("OneCycleLR", lambda lib: dict(optimizer=lib.optimizer(), max_lr=1, total_steps=5,
                                    pct_start=1)),
    ("OneCycleLR", lambda lib: dict(optimizer=lib.optimizer(), max_lr=1, total_steps=5,
                                    anneal_strategy="exp")),
    ("ReduceLROnPlateau", lambda lib: dict(optimizer=lib.optimizer(), factor=1.0)),
    ("ReduceLROnPlateau", lambda lib: dict(optimizer=lib.optimizer(), mode="avg")),
    ("ReduceLROnPlateau", lambda lib: dict(optimizer=lib.optimizer(), threshold_mode="x")),
    ("ReduceLROnPlateau", lambda lib: dict(optimizer=lib.optimizer(), min_lr=[0.1])),
    ("SequentialLR", lambda lib: dict(optimizer=lib.optimizer(), schedulers=[],
                                      milestones=[])),
    ("SequentialLR", lambda lib: (lambda o: dict(
        optimizer=o, schedulers=[lib.sched.StepLR(o, 2), lib.sched.StepLR(o, 3)],
        milestones=[]))(lib.optimizer())),
    ("SequentialLR", lambda lib: (lambda o: dict(
        optimizer=o, schedulers=[lib.sched.StepLR(o, 2), lib.sched.ReduceLROnPlateau(o)],
        milestones=[1]))(lib.optimizer())),
    ("SequentialLR", lambda lib: dict(
        optimizer=lib.optimizer(), schedulers=[lib.sched.StepLR(lib.optimizer(), 2)],
        milestones=[])),
    ("SequentialLR", lambda lib: dict(optimizer=lib.optimizer(), schedulers=[1],
                                      milestones=[])),
    ("ChainedScheduler", lambda lib: dict(schedulers=[])),
]


@pytest.mark.parametrize("name,kw", ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_errors_match_torch(name, kw):
    res = [_outcome(lambda: getattr(lib.sched, name)(**kw(lib))) for lib in (EM, TO)]
    # the messages of the two "different optimizer" errors name the optimizer object
    if "different from" in str(res[1]):
        assert res[0][0] == res[1][0] and "expects all schedulers to belong" in res[0][1]
    else:
        assert res[0] == res[1]
    assert res[0] != "ok"


def test_one_cycle_past_total_steps_raises():
    for lib in (EM, TO):
        o = lib.optimizer()
        s = lib.sched.OneCycleLR(o, max_lr=1.0, total_steps=3)
        for _ in range(3):
            o.step()
            s.step()
        with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of "
                                             "total steps is 3"):
            s.step()


def test_warm_restarts_negative_epoch():
    s = es.CosineAnnealingWarmRestarts(EM.optimizer(), T_0=2)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        s.step(-1)


def test_plateau_new_param_group():
    res = []
    for lib in (EM, TO):
        res.append([])
        o = lib.optimizer()
        s = lib.sched.ReduceLROnPlateau(o, patience=0, min_lr=[0.0, 0.0])
        o.add_param_group({"params": [lib.mod.nn.Parameter(lib.mod.ones(1))]})
        s.step(1.0)
        res[-1].append(_outcome(lambda: s.step(2.0)))
        s2 = lib.sched.ReduceLROnPlateau(lib.optimizer(), patience=0, min_lr=0.01)
        s2.optimizer.add_param_group({"params": [lib.mod.nn.Parameter(lib.mod.ones(1))],
                                      "lr": 1.0})
        s2.step(1.0)
        s2.step(2.0)
        res[-1].append(s2.get_last_lr())
    assert res[0] == res[1]
    assert res[0][0][0] == "RuntimeError"


def test_resume_with_last_epoch():
    seqs = []
    for lib in (EM, TO):
        o = lib.optimizer()
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
        s = lib.sched.CosineAnnealingLR(o, T_max=10, last_epoch=4)
        seq = [s.get_last_lr()]
        for _ in range(5):
            o.step()
            s.step()
            seq.append(s.get_last_lr())
        seqs.append(seq)
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-13)


def test_lr_scheduler_alias_and_exports():
    assert issubclass(es._LRScheduler, es.LRScheduler)
    assert set(es.__all__) == set(ts.__all__) - {"SWALR"} if hasattr(ts, "SWALR") else True
    for name in es.__all__:
        assert hasattr(es, name)
    assert eo.lr_scheduler is es
