"""The model zoo of ``ember train --model``: each model is sized by the dataset's image
geometry (channels, square size) and class count, so the same name works on 8x8 Digits,
28x28 MNIST and 32x32 CIFAR-10.

``build_model(name, channels, size, num_classes)`` rebuilds a model from those four values;
checkpoints store them (``model_config``) so ``ember predict`` needs nothing else.
"""
from __future__ import annotations

from .. import nn

__all__ = ["CNN", "MLP", "MODELS", "RowLSTM", "build_model", "small_input_resnet18"]


class MLP(nn.Module):
    """A multilayer perceptron on the flattened image::

        Flatten -> [Linear -> ReLU -> Dropout(dropout)] per hidden width -> Linear

    Args:
        in_features (int): ``C * H * W``.
        num_classes (int): output logits.
        hidden (tuple of int): hidden widths.
        dropout (float): dropout after each hidden layer.
    """

    def __init__(self, in_features: int, num_classes: int, hidden=(512, 256),
                 dropout: float = 0.1) -> None:
        super().__init__()
        layers = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    """Convolution blocks then a linear classifier::

        features    [Conv2d(3x3, padding 1, no bias) -> BatchNorm2d -> ReLU -> MaxPool2d(2)]
                    x blocks (2 for images smaller than 32 pixels, 3 from 32 up)
        classifier  Flatten -> Dropout(dropout) -> Linear(features, hidden) -> ReLU
                    -> Dropout(dropout) -> Linear(hidden, num_classes)

    For 8x8 Digits the features are 32 x 2 x 2, for 28x28 MNIST 32 x 7 x 7, for 32x32
    CIFAR-10 128 x 4 x 4 (the widths double per block from ``width``; 3-channel inputs
    start at twice ``width``).

    Args:
        in_channels (int), size (int): input geometry (square images).
        num_classes (int): output logits.
        width (int): channels of the first block.
        hidden (int): width of the classifier's hidden layer.
        dropout (float): dropout before each linear layer of the classifier.
    """

    def __init__(self, in_channels: int, size: int, num_classes: int, width: int = 16,
                 hidden: int = 128, dropout: float = 0.2) -> None:
        super().__init__()
        blocks = 2 if size < 32 else 3
        if size % (2 ** blocks):
            raise ValueError(f"CNN: image size {size} is not divisible by {2 ** blocks}")
        if in_channels > 1:
            width *= 2
        layers, c = [], in_channels
        for i in range(blocks):
            out = width * 2 ** i
            layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(), nn.MaxPool2d(2)]
            c = out
        self.features = nn.Sequential(*layers)
        side = size // 2 ** blocks
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout),
                                        nn.Linear(c * side * side, hidden), nn.ReLU(),
                                        nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class RowLSTM(nn.Module):
    """Reads an image as a sequence of rows: an LSTM over the ``H`` rows (each row's
    ``C * W`` values one time step), then a linear layer on the last hidden state.

    Args:
        in_channels (int), size (int): input geometry.
        num_classes (int): output logits.
        hidden_size (int): LSTM width.
        num_layers (int): stacked LSTM layers.
    """

    def __init__(self, in_channels: int, size: int, num_classes: int, hidden_size: int = 128,
                 num_layers: int = 1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_channels * size, hidden_size, num_layers=num_layers,
                            batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 1, 3).reshape(n, h, c * w)
        _, (h_n, _) = self.lstm(rows)
        return self.fc(h_n[-1])


def small_input_resnet18(in_channels: int, size: int, num_classes: int) -> nn.Module:
    """``ember.vision.models.resnet18`` adapted to the input.

    For images up to 64 pixels (Digits, MNIST, CIFAR-10) the ImageNet stem (7x7 stride-2
    convolution and 3x3 stride-2 max pooling, a 4x downsampling) would leave almost nothing
    for the residual stages, so, as in the common CIFAR variants, ``conv1`` becomes a 3x3
    stride-1 convolution and ``maxpool`` an identity. The stages then see 8x8 Digits at
    8, 4, 2, 1 pixels and 32x32 CIFAR-10 at 32, 16, 8, 4. ``conv1`` also takes
    ``in_channels`` (1 for grayscale) instead of 3. Larger images keep the ImageNet stem.
    """
    from ..vision.models import resnet18
    model = resnet18(num_classes=num_classes)
    if size <= 64:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    return model


MODELS = {
    "mlp": lambda c, s, k: MLP(c * s * s, k),
    "cnn": lambda c, s, k: CNN(c, s, k),
    "lstm": lambda c, s, k: RowLSTM(c, s, k),
    "resnet": small_input_resnet18,
}


def build_model(name: str, channels: int, size: int, num_classes: int) -> nn.Module:
    """The zoo model ``name`` (``'mlp'``, ``'cnn'``, ``'lstm'``, ``'resnet'``) for
    ``channels x size x size`` images and ``num_classes`` classes."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name](channels, size, num_classes)
