"""``ember.nn.utils``: gradient clipping, parameter/vector conversion, parametrizations, and
``rnn`` (padding and packing sequences)."""
from . import clip_grad, convert_parameters, parametrizations, parametrize, rnn  # noqa: F401
from .clip_grad import *  # noqa: F401,F403
from .convert_parameters import *  # noqa: F401,F403

__all__ = ["rnn", "parametrize", "parametrizations"] + clip_grad.__all__ + \
    convert_parameters.__all__
