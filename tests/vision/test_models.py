"""ember.vision.models: LeNet / SimpleCNN shapes, parameter counts and a short training run;
ResNet with torchvision's exact parameter names and shapes (the list below is torchvision's
resnet18 state_dict, written out by hand since torchvision is not a test dependency)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.utils.data import DataLoader
from ember.vision import datasets, models
from ember.vision import transforms as T

# torchvision.models.resnet18().state_dict(): name and shape of every entry, in order
RESNET18_STATE = """
conv1.weight (64, 3, 7, 7)
bn1.weight (64,)
bn1.bias (64,)
bn1.running_mean (64,)
bn1.running_var (64,)
bn1.num_batches_tracked ()
layer1.0.conv1.weight (64, 64, 3, 3)
layer1.0.bn1.weight (64,)
layer1.0.bn1.bias (64,)
layer1.0.bn1.running_mean (64,)
layer1.0.bn1.running_var (64,)
layer1.0.bn1.num_batches_tracked ()
layer1.0.conv2.weight (64, 64, 3, 3)
layer1.0.bn2.weight (64,)
layer1.0.bn2.bias (64,)
layer1.0.bn2.running_mean (64,)
layer1.0.bn2.running_var (64,)
layer1.0.bn2.num_batches_tracked ()
layer1.1.conv1.weight (64, 64, 3, 3)
layer1.1.bn1.weight (64,)
layer1.1.bn1.bias (64,)
layer1.1.bn1.running_mean (64,)
layer1.1.bn1.running_var (64,)
layer1.1.bn1.num_batches_tracked ()
layer1.1.conv2.weight (64, 64, 3, 3)
layer1.1.bn2.weight (64,)
layer1.1.bn2.bias (64,)
layer1.1.bn2.running_mean (64,)
layer1.1.bn2.running_var (64,)
layer1.1.bn2.num_batches_tracked ()
layer2.0.conv1.weight (128, 64, 3, 3)
layer2.0.bn1.weight (128,)
layer2.0.bn1.bias (128,)
layer2.0.bn1.running_mean (128,)
layer2.0.bn1.running_var (128,)
layer2.0.bn1.num_batches_tracked ()
layer2.0.conv2.weight (128, 128, 3, 3)
layer2.0.bn2.weight (128,)
layer2.0.bn2.bias (128,)
layer2.0.bn2.running_mean (128,)
layer2.0.bn2.running_var (128,)
layer2.0.bn2.num_batches_tracked ()
layer2.0.downsample.0.weight (128, 64, 1, 1)
layer2.0.downsample.1.weight (128,)
layer2.0.downsample.1.bias (128,)
layer2.0.downsample.1.running_mean (128,)
layer2.0.downsample.1.running_var (128,)
layer2.0.downsample.1.num_batches_tracked ()
layer2.1.conv1.weight (128, 128, 3, 3)
layer2.1.bn1.weight (128,)
layer2.1.bn1.bias (128,)
layer2.1.bn1.running_mean (128,)
layer2.1.bn1.running_var (128,)
layer2.1.bn1.num_batches_tracked ()
layer2.1.conv2.weight (128, 128, 3, 3)
layer2.1.bn2.weight (128,)
layer2.1.bn2.bias (128,)
layer2.1.bn2.running_mean (128,)
layer2.1.bn2.running_var (128,)
layer2.1.bn2.num_batches_tracked ()
layer3.0.conv1.weight (256, 128, 3, 3)
layer3.0.bn1.weight (256,)
layer3.0.bn1.bias (256,)
layer3.0.bn1.running_mean (256,)
layer3.0.bn1.running_var (256,)
layer3.0.bn1.num_batches_tracked ()
layer3.0.conv2.weight (256, 256, 3, 3)
layer3.0.bn2.weight (256,)
layer3.0.bn2.bias (256,)
layer3.0.bn2.running_mean (256,)
layer3.0.bn2.running_var (256,)
layer3.0.bn2.num_batches_tracked ()
layer3.0.downsample.0.weight (256, 128, 1, 1)
layer3.0.downsample.1.weight (256,)
layer3.0.downsample.1.bias (256,)
layer3.0.downsample.1.running_mean (256,)
layer3.0.downsample.1.running_var (256,)
layer3.0.downsample.1.num_batches_tracked ()
layer3.1.conv1.weight (256, 256, 3, 3)
layer3.1.bn1.weight (256,)
layer3.1.bn1.bias (256,)
layer3.1.bn1.running_mean (256,)
layer3.1.bn1.running_var (256,)
layer3.1.bn1.num_batches_tracked ()
layer3.1.conv2.weight (256, 256, 3, 3)
layer3.1.bn2.weight (256,)
layer3.1.bn2.bias (256,)
layer3.1.bn2.running_mean (256,)
layer3.1.bn2.running_var (256,)
layer3.1.bn2.num_batches_tracked ()
layer4.0.conv1.weight (512, 256, 3, 3)
layer4.0.bn1.weight (512,)
layer4.0.bn1.bias (512,)
layer4.0.bn1.running_mean (512,)
layer4.0.bn1.running_var (512,)
layer4.0.bn1.num_batches_tracked ()
layer4.0.conv2.weight (512, 512, 3, 3)
layer4.0.bn2.weight (512,)
layer4.0.bn2.bias (512,)
layer4.0.bn2.running_mean (512,)
layer4.0.bn2.running_var (512,)
layer4.0.bn2.num_batches_tracked ()
layer4.0.downsample.0.weight (512, 256, 1, 1)
layer4.0.downsample.1.weight (512,)
layer4.0.downsample.1.bias (512,)
layer4.0.downsample.1.running_mean (512,)
layer4.0.downsample.1.running_var (512,)
layer4.0.downsample.1.num_batches_tracked ()
layer4.1.conv1.weight (512, 512, 3, 3)
layer4.1.bn1.weight (512,)
layer4.1.bn1.bias (512,)
layer4.1.bn1.running_mean (512,)
layer4.1.bn1.running_var (512,)
layer4.1.bn1.num_batches_tracked ()
layer4.1.conv2.weight (512, 512, 3, 3)
layer4.1.bn2.weight (512,)
layer4.1.bn2.bias (512,)
layer4.1.bn2.running_mean (512,)
layer4.1.bn2.running_var (512,)
layer4.1.bn2.num_batches_tracked ()
fc.weight (1000, 512)
fc.bias (1000,)
"""


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_lenet():
    model = models.LeNet()
    assert n_params(model) == 61706
    assert [name for name, _ in model.named_children()] == ["conv1", "conv2", "pool", "relu",
                                                          "fc1", "fc2", "fc3"]
    out = model(ember.randn(3, 1, 28, 28))
    assert out.shape == (3, 10) and out.dtype == ember.float32
    assert models.lenet(num_classes=5, in_channels=3)(ember.randn(2, 3, 28, 28)).shape == (2, 5)


@pytest.mark.parametrize("size,channels", [(8, 1), (28, 1), (32, 3)])
def test_simple_cnn_shapes(size, channels):
    model = models.SimpleCNN(in_channels=channels, num_classes=7, image_size=size)
    assert model(ember.randn(2, channels, size, size)).shape == (2, 7)
    side = size // 4
    assert model.classifier[1].in_features == 32 * side * side
    plain = models.simple_cnn(channels, 3, size, widths=(4, 6), hidden=8, batch_norm=False,
                              dropout=0.5)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert plain(ember.randn(1, channels, size, size)).shape == (1, 3)


def test_simple_cnn_errors():
    with pytest.raises(ValueError, match="multiple of 4"):
        models.SimpleCNN(image_size=10)
    with pytest.raises(ValueError, match="widths must have 2 entries"):
        models.SimpleCNN(widths=(4, 8, 16))


def test_resnet18_state_dict_matches_torchvision():
    expected = []
    for line in RESNET18_STATE.strip().splitlines():
        name, shape = line.split(" ", 1)
        expected.append((name, tuple(int(s) for s in shape.strip("()").split(",") if s.strip())))
    model = models.resnet18()
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert got == expected
    assert n_params(model) == 11_689_512


@pytest.mark.parametrize("builder,count", [(models.resnet34, 21_797_672),
                                           (models.resnet50, 25_557_032)])
def test_resnet_parameter_counts(builder, count):
    assert n_params(builder()) == count


def test_resnet_forward_and_options():
    ember.manual_seed(0)
    model = models.resnet18(num_classes=10)
    model.eval()
    with ember.no_grad():
        out = model(ember.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)
    r50 = models.resnet50(num_classes=4, zero_init_residual=True)
    assert all(m.bn3.weight.abs().sum().item() == 0 for m in r50.modules()
               if isinstance(m, models.Bottleneck))
    r18 = models.resnet18(zero_init_residual=True)
    assert all(m.bn2.weight.abs().sum().item() == 0 for m in r18.modules()
               if isinstance(m, models.BasicBlock))
    # kaiming_normal_(fan_out, relu): std = sqrt(2 / (out_channels * k * k))
    w = model.layer3[0].conv1.weight
    assert abs(w.std().item() - (2 / (256 * 9)) ** 0.5) < 0.003
    assert model.bn1.weight.min().item() == 1 and model.bn1.bias.abs().max().item() == 0
    dil = models.resnet50(replace_stride_with_dilation=[False, True, True], num_classes=2)
    assert dil.layer4[0].conv2.dilation == (2, 2) and dil.layer4[1].conv2.dilation == (4, 4)
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1"):
        models.resnet18(groups=2)


@pytest.mark.parametrize("kwargs", [{"pretrained": True}, {"weights": "IMAGENET1K_V1"},
                                    {"weights": "DEFAULT"}])
def test_pretrained_weights_refused(kwargs):
    with pytest.raises(RuntimeError, match="ember cannot download pretrained weights") as info:
        models.resnet18(**kwargs)
    assert "load_state_dict" in str(info.value)


def test_resnet_state_dict_round_trip():
    a, b = models.resnet18(num_classes=3), models.resnet18(num_classes=3)
    b.load_state_dict(a.state_dict())
    a.eval()
    b.eval()
    x = ember.randn(1, 3, 32, 32)
    with ember.no_grad():
        assert ember.allclose(a(x), b(x))


def _train(model, loader, steps, lr):
    opt = ember.optim.Adam(model.parameters(), lr=lr)
    losses = []
    it = iter(loader)
    for _ in range(steps):
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(loader)
            x, y = next(it)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_simple_cnn_learns_digits():
    ember.manual_seed(0)
    data = ember.utils.data.Subset(datasets.Digits(transform=T.ToTensor()), range(128))
    loader = DataLoader(data, batch_size=64, shuffle=True)
    model = models.SimpleCNN(image_size=8)
    losses = _train(model, loader, steps=30, lr=1e-2)
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4]), losses


def test_lenet_learns_digits_resized():
    ember.manual_seed(1)
    tf = T.Compose([T.Resize(28), T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    data = ember.utils.data.Subset(datasets.Digits(transform=tf), range(64))
    loader = DataLoader(data, batch_size=32, shuffle=True)
    losses = _train(models.LeNet(), loader, steps=16, lr=3e-3)
    assert np.mean(losses[-4:]) < 0.7 * np.mean(losses[:4]), losses
