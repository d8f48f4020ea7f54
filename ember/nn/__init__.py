"""Neural network building blocks (PyTorch's ``torch.nn``): ``Module``, ``Parameter``, the
containers and layers in ``modules/``, ``functional`` and ``init``."""
from . import functional, init, modules, parameter, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter  # noqa: F401

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer",
           "functional", "init", "parameter", "modules"] + list(_modules_all)
