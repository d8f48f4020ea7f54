"""FakeData: random images, for trying out pipelines without any data on disk."""
from __future__ import annotations

import numpy as np

from .vision import VisionDataset, _make_image

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` random images of shape ``image_size = (C, H, W)`` with random targets in
    ``[0, num_classes)``.

    Item ``i`` is a deterministic function of ``i + random_offset``: it is drawn from its
    own generator seeded with that number, so the global random state (``ember.manual_seed``)
    is neither used nor disturbed, and every access (in any worker) gives the same sample.
    Images are uint8 with uniformly random pixels: PIL images (mode ``'L'`` for 1 channel,
    ``'RGB'`` for 3) with Pillow, else uint8 tensors ``C x H x W``. (torchvision draws
    normal floats and converts them with ToPILImage, which wraps negative values around;
    uniform uint8 pixels give the same kind of noise without that artefact.)
    """

    def __init__(self, size: int = 1000, image_size=(3, 224, 224), num_classes: int = 10,
                 transform=None, target_transform=None, random_offset: int = 0) -> None:
        super().__init__(transform=transform, target_transform=target_transform)
        image_size = tuple(int(s) for s in image_size)
        if len(image_size) != 3 or image_size[0] not in (1, 3):
            raise ValueError("image_size should be (C, H, W) with C = 1 or 3, got "
                             f"{image_size}")
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        rng = np.random.default_rng(index + self.random_offset)
        pixels = rng.integers(0, 256, self.image_size, dtype=np.uint8)
        target = int(rng.integers(0, self.num_classes))
        if self.image_size[0] == 1:
            img = _make_image(pixels[0], "L")
        else:
            img = _make_image(pixels.transpose(1, 2, 0), "RGB")
        return self._apply(img, target)

    def __len__(self) -> int:
        return self.size
