"""``ember.vision.transforms``: image transforms for PIL images and ember tensor images
(torchvision's ``transforms``). The classes are in :mod:`.transforms`, the functions they
call in :mod:`.functional`."""
from . import functional  # noqa: F401
from .functional import InterpolationMode  # noqa: F401
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _all

__all__ = ["InterpolationMode", "functional", *_all]
