"""Grad modes: whether new operations are recorded in the graph.

The state is thread-local, as in PyTorch: a new thread starts with grad enabled.
Each mode works as a context manager and as a decorator.
"""
from __future__ import annotations

import functools
import inspect
import threading
import warnings

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _GradState(threading.local):
    enabled = True
    inference = False


STATE = _GradState()


def is_grad_enabled() -> bool:
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _DecoratorContextManager:
    """Context manager that can also decorate functions and generator functions."""

    def __call__(self, func):
        if inspect.isclass(func):
            warnings.warn("Decorating classes is deprecated and will be disabled in future "
                          "versions. You should only decorate functions or methods. To "
                          "preserve the current behavior of class decoration, you can directly "
                          "decorate the `__init__` method and nothing else.", FutureWarning,
                          stacklevel=2)
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def generator(*args, **kwargs):
                gen = func(*args, **kwargs)
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as exc:
                        with self.clone():
                            response = gen.throw(exc)
                    else:
                        with self.clone():
                            response = gen.send(request)
            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()


class _NoParamDecorator(_DecoratorContextManager):
    """Also usable as a bare decorator: ``@ember.no_grad`` as well as ``@ember.no_grad()``."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecorator):
    """Disable recording of operations: results have ``requires_grad=False``.

    Example::

        with ember.no_grad():
            y = x * 2          # y.requires_grad is False
    """

    def __init__(self):
        self.prev = False

    def __enter__(self):
        self.prev = STATE.enabled
        STATE.enabled = False

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False


class enable_grad(_NoParamDecorator):
    """Enable recording of operations inside a ``no_grad`` region."""

    def __init__(self):
        self.prev = False

    def __enter__(self):
        self.prev = STATE.enabled
        STATE.enabled = True

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode on or off. Takes effect at once, and works as a context manager
    that restores the previous mode on exit (PyTorch's semantics)."""

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'enabled' (position 1) must be "
                            f"bool, not {type(mode).__name__}")
        self.prev = STATE.enabled
        self.mode = mode
        STATE.enabled = mode

    def __call__(self, func):
        # used as a decorator: the mode applies inside the function only, so undo the
        # immediate switch the constructor made
        STATE.enabled = self.prev
        return super().__call__(func)

    def __enter__(self):
        STATE.enabled = self.mode

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False

    def clone(self):
        return type(self)(self.mode)


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad``; tensors made inside are marked as inference tensors
    (``is_inference()``), which cannot later be saved for backward or changed in place
    outside inference mode. ``inference_mode(False)`` turns both inference mode off and
    grad mode on, as PyTorch does. Works bare (``@ember.inference_mode``) too."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)                  # bare decorator: `mode` is the function

    def __init__(self, mode: bool = True):
        if not isinstance(mode, bool):      # bare-decorator call: __new__ did the work
            return
        self.mode = mode
        self.prev = (False, False)

    def __enter__(self):
        self.prev = (STATE.enabled, STATE.inference)
        STATE.enabled = not self.mode
        STATE.inference = self.mode

    def __exit__(self, *exc):
        STATE.enabled, STATE.inference = self.prev
        return False

    def clone(self):
        return type(self)(self.mode)
