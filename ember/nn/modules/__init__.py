"""The layers of ``ember.nn``, one file per family as in PyTorch."""
from . import (activation, attention, batchnorm, channelshuffle, conv, distance, dropout,
               fold, instancenorm, loss, normalization, padding, pixelshuffle, pooling, rnn,
               sparse, transformer, upsampling)
from .container import Container, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
from .flatten import Flatten, Unflatten  # noqa: F401
from .linear import Bilinear, Identity, LazyLinear, Linear  # noqa: F401
from .module import Module  # noqa: F401
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .channelshuffle import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .instancenorm import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403

_FAMILIES = (activation, attention, batchnorm, channelshuffle, conv, distance, dropout, fold,
             instancenorm, loss, normalization, padding, pixelshuffle, pooling, rnn, sparse,
             transformer, upsampling)

__all__ = ["Module", "Container", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
           "ParameterDict", "Identity", "Linear", "Bilinear", "LazyLinear", "Flatten",
           "Unflatten"] + [n for m in _FAMILIES for n in m.__all__]
