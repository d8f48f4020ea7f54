"""A generative adversarial network on MNIST: a generator turns 64 random numbers into a
28x28 image, a discriminator tells generated images from real ones, and the two are
trained against each other (Goodfellow et al., 2014), both as small MLPs.

Each batch makes two steps, as in the PyTorch courses:

1. the discriminator's: ``BCELoss`` of ``D(real)`` against 1 plus ``D(G(z).detach())``
   against 0; ``detach()`` keeps this step's gradient out of the generator;
2. the generator's: ``BCELoss`` of ``D(G(z))`` against 1 (the "non-saturating" loss),
   which only the generator's optimizer applies.

    python examples/gan_mnist.py --out gan_out           # 10 epochs on all of MNIST
    python examples/gan_mnist.py --limit 10000           # the first 10,000 images
    python examples/gan_mnist.py --quick --out /tmp/g    # 3 epochs on 600 images (the tests)

Each epoch prints the mean losses of D and G, the mean of ``D(x)`` on real and generated
images, and how well the mean generated image matches the mean real one (a correlation:
near 0 at the start, near 1 once G has learned where the ink goes); it writes an 8x8 grid
of samples from a fixed batch of noise to ``--out/samples_epoch_NNN.png`` with
``ember.vision.utils.save_image`` (which needs Pillow; without it the grid is saved as a
tensor with ``ember.save``). Reading MNIST and the options the MNIST examples share come
from ``mnist_common.py`` next to this script.
"""
import math
import os
import time

import ember
from ember import nn
from ember.utils.data import DataLoader, TensorDataset
from ember.vision.utils import make_grid, save_image

# isort: split
from mnist_common import mnist_parser, read_mnist


def load_mnist_images(root, limit=None):
    """The first ``limit`` MNIST training images as a ``TensorDataset`` of ``784``-long
    float vectors scaled to [-1, 1] (the range of the generator's ``Tanh``); the labels are
    not needed."""
    images = read_mnist(root, train=True).data[:limit]            # uint8, N x 28 x 28
    x = images.float().div(255).mul(2).sub(1)                      # [0, 255] -> [-1, 1]
    return TensorDataset(x.flatten(1))


class Generator(nn.Module):
    """z (latent_dim) -> 256 -> 512 -> 784 pixels in [-1, 1]."""

    def __init__(self, latent_dim=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 28 * 28), nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    """784 pixels -> 512 -> 256 -> the probability that the image is real."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 1), nn.Sigmoid(),
        )

    def forward(self, x):
        return self.net(x)


def mean_image_correlation(fake, real):
    """Pearson correlation between the mean generated and the mean real image: a cheap
    sign that G puts ink where the data has it (it says nothing about the variety)."""
    a = fake.mean(0) - fake.mean()
    b = real.mean(0) - real.mean()
    return ((a * b).sum() / (a.norm() * b.norm())).item()


def save_samples(images, path):
    """Write a batch of 784-vectors in [-1, 1] as an 8-per-row grid image (PNG)."""
    images = images.view(-1, 1, 28, 28) * 0.5 + 0.5     # back to [0, 1]
    try:
        save_image(images, path, nrow=8)
    except ImportError:                                  # Pillow is not installed
        path = os.path.splitext(path)[0] + ".pt"
        ember.save(make_grid(images, nrow=8), path)
    return path


def main():
    parser = mnist_parser(__doc__, epochs=10, quick_epochs=3, quick_limit=600, seed=0,
                          limit_of="training images")
    parser.add_argument("--out", default="gan_out",
                        help="folder for the sample grids (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate of D and G")
    parser.add_argument("--latent-dim", type=int, default=64)
    args = parser.parse_args()

    ember.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    dataset = load_mnist_images(args.root, args.limit)
    real_all = dataset.tensors[0]
    print(f"{len(dataset)} training images from {args.root}")
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True,
                        generator=ember.Generator().manual_seed(args.seed))

    G, D = Generator(args.latent_dim), Discriminator()
    criterion = nn.BCELoss()
    # betas=(0.5, 0.999): the usual GAN setting (DCGAN), a shorter memory of the momentum
    opt_g = ember.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = ember.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    fixed_noise = ember.randn(64, args.latent_dim)       # the same z for every grid

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        G.train()
        D.train()
        sums = {"d": 0.0, "g": 0.0, "d_real": 0.0, "d_fake": 0.0}
        for (real,) in loader:
            n = real.size(0)
            ones, zeros = ember.ones(n, 1), ember.zeros(n, 1)

            # (1) the discriminator: maximise log D(x) + log(1 - D(G(z)))
            fake = G(ember.randn(n, args.latent_dim))
            opt_d.zero_grad()
            out_real = D(real)
            out_fake = D(fake.detach())          # no gradient into G from this step
            loss_d = criterion(out_real, ones) + criterion(out_fake, zeros)
            loss_d.backward()
            opt_d.step()

            # (2) the generator: maximise log D(G(z)), on the same fakes and the updated D
            opt_g.zero_grad()
            loss_g = criterion(D(fake), ones)
            loss_g.backward()
            opt_g.step()

            sums["d"] += loss_d.item()
            sums["g"] += loss_g.item()
            sums["d_real"] += out_real.mean().item()
            sums["d_fake"] += out_fake.mean().item()
        means = {k: v / len(loader) for k, v in sums.items()}

        G.eval()
        with ember.no_grad():
            samples = G(fixed_noise)
        corr = mean_image_correlation(samples, real_all)
        path = save_samples(samples, os.path.join(args.out, f"samples_epoch_{epoch:03d}.png"))
        print(f"Epoch {epoch}: loss_D {means['d']:.4f}, loss_G {means['g']:.4f}, "
              f"D(x) {means['d_real']:.3f}, D(G(z)) {means['d_fake']:.3f}, "
              f"mean-image correlation {corr:.3f} ({time.perf_counter() - start:.1f} s)")
        if not (math.isfinite(means["d"]) and math.isfinite(means["g"])):
            raise SystemExit("the losses are not finite: try a smaller --lr")
    print(f"saved samples to {path}")
    print(f"final mean-image correlation: {corr:.4f}")


if __name__ == "__main__":
    main()
