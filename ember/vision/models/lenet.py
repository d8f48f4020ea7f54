"""Small CNNs for 28x28 (MNIST-like) and 8x8 (:class:`~ember.vision.datasets.Digits`)
images: :class:`LeNet` (LeNet-5) and the configurable :class:`SimpleCNN`."""
from __future__ import annotations

from ... import nn
from ...ops import shape as _shape

__all__ = ["LeNet", "SimpleCNN", "lenet", "simple_cnn"]


class LeNet(nn.Module):
    """LeNet-5 (LeCun et al., 1998) for ``1 x 28 x 28`` images, with the usual modern
    choices (ReLU and max pooling instead of scaled tanh and subsampling layers)::

        conv1  Conv2d(in_channels, 6, 5, padding=2)  -> ReLU -> MaxPool2d(2)   6 x 14 x 14
        conv2  Conv2d(6, 16, 5)                      -> ReLU -> MaxPool2d(2)  16 x 5 x 5
        fc1    Linear(400, 120) -> ReLU
        fc2    Linear(120, 84)  -> ReLU
        fc3    Linear(84, num_classes)                                     (logits)

    The ``padding=2`` of ``conv1`` plays the role of the original 32x32 input. 61,706
    parameters for 10 classes.

    Shape:
        input ``(N, in_channels, 28, 28)``, output ``(N, num_classes)``.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = _shape.flatten(x, 1)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


class SimpleCNN(nn.Module):
    """A small configurable CNN for square images of any size divisible by 4 (8x8 digits,
    28x28 MNIST, 32x32 CIFAR)::

        features    [Conv2d(c_in, w0, 3, padding=1) -> BatchNorm2d(w0) -> ReLU -> MaxPool2d(2)]
                    [Conv2d(w0, w1, 3, padding=1)   -> BatchNorm2d(w1) -> ReLU -> MaxPool2d(2)]
        classifier  Flatten -> Linear(w1 * (s/4)^2, hidden) -> ReLU -> Dropout(dropout)
                    -> Linear(hidden, num_classes)

    Args:
        in_channels (int): input channels (1 for grayscale).
        num_classes (int): output logits.
        image_size (int): the input's height and width ``s`` (a multiple of 4).
        widths (tuple of 2 ints): channels of the two conv blocks.
        hidden (int): width of the hidden linear layer.
        dropout (float): dropout probability before the last layer.
        batch_norm (bool): use BatchNorm2d after each convolution.

    Shape:
        input ``(N, in_channels, s, s)``, output ``(N, num_classes)``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28,
                 widths=(16, 32), hidden: int = 64, dropout: float = 0.0,
                 batch_norm: bool = True) -> None:
        super().__init__()
        if image_size % 4 != 0 or image_size < 4:
            raise ValueError(f"image_size must be a positive multiple of 4 (two 2x2 poolings), "
                             f"got {image_size}")
        if len(widths) != 2:
            raise ValueError(f"widths must have 2 entries, got {widths!r}")
        w0, w1 = int(widths[0]), int(widths[1])
        layers = []
        for cin, cout in ((in_channels, w0), (w0, w1)):
            layers.append(nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(cout))
            layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        side = image_size // 4
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(w1 * side * side, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def lenet(num_classes: int = 10, in_channels: int = 1) -> LeNet:
    """A :class:`LeNet` (randomly initialised)."""
    return LeNet(num_classes=num_classes, in_channels=in_channels)


def simple_cnn(in_channels: int = 1, num_classes: int = 10, image_size: int = 28,
               **kwargs) -> SimpleCNN:
    """A :class:`SimpleCNN` (randomly initialised)."""
    return SimpleCNN(in_channels=in_channels, num_classes=num_classes, image_size=image_size,
                     **kwargs)
