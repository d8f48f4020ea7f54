"""Anomaly detection: find the forward operation whose backward produced NaN.

Under ``detect_anomaly()`` every recorded node keeps the stack of the forward call that made
it. During backward, a node whose gradients contain NaN raises a RuntimeError naming the
node, and an error raised inside a node's backward is reported with that forward stack.
"""
from __future__ import annotations

import threading
import traceback
import warnings

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]


class _AnomalyState(threading.local):
    enabled = False
    check_nan = True


STATE = _AnomalyState()


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on (in this thread)."""
    return STATE.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection also checks backward results for NaN."""
    return STATE.check_nan


class detect_anomaly:
    """Context manager that turns anomaly detection on (and off on exit)."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        self.prev = (False, True)
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self):
        self.prev = (STATE.enabled, STATE.check_nan)
        STATE.enabled, STATE.check_nan = True, self.check_nan

    def __exit__(self, *exc):
        STATE.enabled, STATE.check_nan = self.prev
        return False


class set_detect_anomaly:
    """Turn anomaly detection on or off; also usable as a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = (STATE.enabled, STATE.check_nan)
        STATE.enabled, STATE.check_nan = mode, check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        STATE.enabled, STATE.check_nan = self.prev
        return False


def record(node):
    """Called when a node is recorded: keep the forward stack (minus ember's own frames)."""
    stack = traceback.extract_stack()[:-1]
    node._anomaly_trace = [f for f in stack if "/ember/" not in f.filename.replace("\\", "/")] \
        or stack


def _forward_trace(node) -> str:
    if not node._anomaly_trace:
        return ""
    return "".join(traceback.format_list(node._anomaly_trace))


def _warn_trace(node):
    # PyTorch reports the forward stack as a warning, then raises the error itself
    trace = _forward_trace(node)
    if trace:
        warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused "
                      f"the error:\n{trace}", UserWarning, stacklevel=2)


def run_node(node, grads):
    """Run ``node``'s backward, attaching the forward stack to any error it raises."""
    try:
        return node._backward(grads)
    except Exception:
        _warn_trace(node)
        raise


def check_nan(node, in_grads):
    if not STATE.check_nan:
        return
    for i, g in enumerate(in_grads):
        if g is None:
            continue
        data = g._data
        if data.dtype.kind in "fc" and data.size and bool((data != data).any()):
            _warn_trace(node)
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th "
                               "output.")
