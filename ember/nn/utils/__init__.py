"""``ember.nn.utils``: gradient clipping, parameter/vector conversion, parametrizations, and
``rnn`` (padding and packing sequences)."""
from . import clip_grad, convert_parameters, parametrizations, parametrize, rnn  # noqa: F401
from .clip_grad import *  # noqa: F401,F403
from .convert_parameters import *  # noqa: F401,F403

__all__ = ["rnn", "parametrize", "parametrizations"] + clip_grad.__all__ + \
    convert_parameters.__all__
from .weight_norm import weight_norm, remove_weight_norm  # noqa: F401,E402
from .spectral_norm import spectral_norm, remove_spectral_norm  # noqa: F401,E402

__all__ += ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]
