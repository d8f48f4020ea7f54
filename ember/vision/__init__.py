"""``ember.vision``: datasets, transforms, models and image utilities for computer vision
(torchvision's counterpart: ``import ember.vision as torchvision``).

Pillow is optional. Without it everything imports, datasets return uint8 tensor images
(``C x H x W``) and the tensor paths of all transforms work; features that need Pillow by
nature (``ToPILImage``, decoding image files, ``save_image``) raise an ImportError naming it.
"""
from . import datasets, models, transforms, utils
from ._imaging import get_image_backend, set_image_backend

__all__ = ["datasets", "get_image_backend", "models", "set_image_backend", "transforms",
           "utils"]
