"""ResNet (He et al., "Deep Residual Learning for Image Recognition", 2015) with
torchvision's architecture, initialisation and parameter names, so ``state_dict`` keys and
shapes are the same as torchvision's ``resnet18`` ... ``resnet152`` (and a torchvision
state_dict converted to ember tensors loads with ``load_state_dict``).

ember ships no pretrained weights and cannot download any: ``weights=`` / ``pretrained=True``
raise an error saying so.
"""
from __future__ import annotations

from ... import nn
from ...ops import shape as _shape

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152"]


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding (no bias: a BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution (no bias)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut: ``relu(bn2(conv2(relu(bn1(conv1(x))))) +
    shortcut(x))``, the shortcut being ``downsample`` (1x1 conv + BN) when the shape
    changes. Used by ResNet-18/34."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 (reduce) -> 3x3 (stride here, as torchvision's "ResNet V1.5") -> 1x1 (expand by
    4) with a shortcut. Used by ResNet-50/101/152."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A ResNet: a 7x7/2 stem convolution, 3x3/2 max pooling, four stages of residual
    ``block``\\ s (``layers[i]`` blocks with 64, 128, 256, 512 planes, stages 2-4 halving the
    resolution), global average pooling and a linear classifier ``fc``.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers (list of 4 ints): blocks per stage.
        num_classes (int): outputs of ``fc``.
        zero_init_residual (bool): start each block's last BN weight at zero, so that blocks
            begin as identities.
        groups, width_per_group: grouped / wide bottlenecks (ResNeXt, Wide ResNet).
        replace_stride_with_dilation (list of 3 bools): dilate stages 2-4 instead of striding.
        norm_layer: the normalisation module (default ``nn.BatchNorm2d``).

    Initialisation (torchvision's): convolutions Kaiming-normal (fan_out, ReLU gain), norm
    layers weight 1 and bias 0, ``fc`` the default ``nn.Linear`` initialisation.

    Shape:
        input ``(N, 3, H, W)`` (any H, W >= 32 or so), output ``(N, num_classes)``.
    """

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, replace_stride_with_dilation=None, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None or a 3-element tuple, "
                             f"got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2,
                                       dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2,
                                       dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2,
                                       dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        previous_dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = _shape.flatten(self.avgpool(x), 1)
        return self.fc(x)


def _no_weights(name, weights, kwargs):
    pretrained = kwargs.pop("pretrained", False)
    if weights is not None or pretrained:
        raise RuntimeError(
            f"{name}: ember cannot download pretrained weights (it has no network access and "
            "bundles no weights). Build the model with weights=None and load a state_dict with "
            "model.load_state_dict(...) instead (parameter names match torchvision's).")
    kwargs.pop("progress", None)
    return kwargs


def resnet18(*, weights=None, progress=True, **kwargs) -> ResNet:
    """ResNet-18: BasicBlocks ``[2, 2, 2, 2]`` (11,689,512 parameters for 1000 classes)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], **_no_weights("resnet18", weights, kwargs))


def resnet34(*, weights=None, progress=True, **kwargs) -> ResNet:
    """ResNet-34: BasicBlocks ``[3, 4, 6, 3]`` (21,797,672 parameters for 1000 classes)."""
    return ResNet(BasicBlock, [3, 4, 6, 3], **_no_weights("resnet34", weights, kwargs))


def resnet50(*, weights=None, progress=True, **kwargs) -> ResNet:
    """ResNet-50: Bottlenecks ``[3, 4, 6, 3]`` (25,557,032 parameters for 1000 classes)."""
    return ResNet(Bottleneck, [3, 4, 6, 3], **_no_weights("resnet50", weights, kwargs))


def resnet101(*, weights=None, progress=True, **kwargs) -> ResNet:
    """ResNet-101: Bottlenecks ``[3, 4, 23, 3]``."""
    return ResNet(Bottleneck, [3, 4, 23, 3], **_no_weights("resnet101", weights, kwargs))


def resnet152(*, weights=None, progress=True, **kwargs) -> ResNet:
    """ResNet-152: Bottlenecks ``[3, 8, 36, 3]``."""
    return ResNet(Bottleneck, [3, 8, 36, 3], **_no_weights("resnet152", weights, kwargs))
