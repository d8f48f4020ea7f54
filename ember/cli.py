"""The ``ember`` command: ``ember train`` and ``ember predict`` (also ``python -m ember``).

``ember train`` trains a model from the zoo (:mod:`ember.train.models`) on a dataset
(:mod:`ember.train.data`) with a live progress bar, evaluates on the test split after every
epoch, and writes to ``--out``::

    best.pt          checkpoint of the epoch with the best test accuracy
    last.pt          checkpoint of the latest epoch (what --resume continues from)
    metrics.json     per-epoch train/test loss and accuracy, learning rate, times; the best
    curves.png       loss and accuracy per epoch
    confusion.png    the best epoch's confusion matrix on the test split

A checkpoint is ``ember.save`` of a plain dict: ``model`` / ``optimizer`` / ``scheduler``
state dicts, ``epoch``, ``metrics``, ``args`` (the resolved options) and ``model_config``
(architecture, input geometry, normalisation and class names, all ``ember predict``
needs). It holds only tensors and plain data, so ``ember.load(path, weights_only=True)``
and ``torch.load(path, weights_only=True)`` both read it.

``ember predict CHECKPOINT IMAGE...`` classifies image files with a checkpoint.

See docs/quickstart.md.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

__all__ = ["main"]

TRAIN_EXTRA = 'pip install "ember[train]"'

_OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta")
_SCHEDULERS = ("none", "step", "cosine", "onecycle", "plateau")
_MODELS = ("mlp", "cnn", "lstm", "resnet")
_DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")

# Defaults of the options that may also come from a checkpoint being resumed; epochs,
# batch size and learning rate depend on the dataset / optimizer (see _resolve).
_DEFAULTS = {"model": "cnn", "data": "digits", "root": "data", "optimizer": "adam",
             "scheduler": "onecycle", "workers": 0, "seed": 0, "limit": None,
             "weight_decay": None}
_EPOCHS = {"digits": 10, "mnist": 2, "fashion-mnist": 5, "cifar10": 10}
_BATCH_SIZE = {"digits": 32, "mnist": 128, "fashion-mnist": 128, "cifar10": 128}
# peak learning rates (the one-cycle maximum; the constant rate without a scheduler)
_LR = {"sgd": 0.05, "adam": 3e-3, "adamw": 3e-3, "rmsprop": 1e-3, "adagrad": 0.05,
       "adadelta": 1.0}
# schedulers whose shape depends on the total number of steps
_HORIZON_SCHEDULERS = ("cosine", "onecycle")


class CLIError(Exception):
    """An error to report as ``ember <command>: error: <message>`` with exit status 1."""


# -- argument parsing ----------------------------------------------------------------------

def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="ember", description="Train and use small image classifiers with ember.")
    parser.add_argument("--version", action="version", version=f"ember {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    t = sub.add_parser(
        "train", help="train a model, keeping the best checkpoint, metrics and plots",
        description="Train a model on an image dataset, evaluating on the test split after\n"
        "every epoch; write best.pt, last.pt, metrics.json, curves.png and confusion.png\n"
        "to --out. With no options: a CNN on the 8x8 digits bundled with ember (no\n"
        "download).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="defaults that depend on the dataset:\n"
        "  --epochs      digits 10, mnist 2, fashion-mnist 5, cifar10 10\n"
        "  --batch-size  digits 32, others 128\n"
        "default --lr per optimizer (the peak rate under onecycle):\n"
        "  sgd 0.05 (momentum 0.9, Nesterov), adam/adamw 3e-3, rmsprop 1e-3, adagrad 0.05,\n"
        "  adadelta 1.0\n"
        "when resuming, options not given are taken from the checkpoint.\n"
        "see docs/quickstart.md.")
    t.add_argument("--model", choices=_MODELS, default=None,
                   help="mlp, cnn (conv-bn-relu-pool blocks), lstm (reads image rows), resnet "
                   "(resnet18 with a small-image stem) (default: cnn)")
    t.add_argument("--data", choices=_DATASETS, default=None,
                   help="dataset (default: digits, bundled)")
    t.add_argument("--root", default=None, metavar="DIR",
                   help="dataset root: MNIST in DIR/MNIST/raw/ or DIR/mnist/, Fashion-MNIST "
                   "in DIR/FashionMNIST/raw/ or DIR/fashion-mnist/, CIFAR-10 in "
                   "DIR/cifar-10-batches-py/ (default: data)")
    t.add_argument("--epochs", type=_positive_int, default=None, metavar="N",
                   help="total epochs (default: per dataset, see below)")
    t.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                   help="batch size")
    t.add_argument("--lr", type=_positive_float, default=None, metavar="LR",
                   help="learning rate")
    t.add_argument("--weight-decay", type=float, default=None, metavar="WD",
                   help="weight decay (default: 0; 0.01 for adamw)")
    t.add_argument("--optimizer", choices=_OPTIMIZERS, default=None,
                   help="optimizer (default: adam)")
    t.add_argument("--scheduler", choices=_SCHEDULERS, default=None,
                   help="learning-rate schedule: none, step (x0.1 every third of the run), "
                   "cosine (per batch), onecycle (per batch), plateau (x0.5 when test accuracy "
                   "stalls) (default: onecycle)")
    t.add_argument("--workers", type=_nonnegative_int, default=None, metavar="N",
                   help="DataLoader worker processes (default: 0, load in the main process)")
    t.add_argument("--seed", type=int, default=None, metavar="N",
                   help="random seed (default: 0)")
    t.add_argument("--threads", type=_nonnegative_int, default=1, metavar="N",
                   help="BLAS threads for NumPy's matrix products; 0 keeps BLAS's own default "
                   "(default: 1, fastest for these small models: splitting small products "
                   "over threads costs more than it saves)")
    t.add_argument("--out", default=None, metavar="DIR",
                   help="output directory (default: runs/<time>-<data>-<model>; when "
                   "resuming, the checkpoint's directory)")
    t.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="continue training from a checkpoint (last.pt) up to --epochs")
    t.add_argument("--export-onnx", action=argparse.BooleanOptionalAction, default=None,
                   help="write the best model as model.onnx (dynamic batch) and check it "
                   "against onnxruntime (default: on when onnx and onnxruntime are installed, "
                   "as the train extra does)")
    t.add_argument("--no-progress", action="store_true",
                   help="no progress bar: one line per epoch (for CI and log files)")
    t.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                   help="train on a random subset of N training samples (quick runs)")
    t.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "predict", help="classify image files with a checkpoint",
        description="Classify image files with a checkpoint written by `ember train`. Each image "
        "is converted to the model's input (grayscale or RGB, resized to the training size, "
        "normalised as in training) and one line is printed per image: the predicted class and "
        "its probability.")
    p.add_argument("checkpoint", help="a checkpoint (best.pt or last.pt)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (any format Pillow "
                   "reads)")
    p.add_argument("--top", type=_positive_int, default=1, metavar="K",
                   help="also print the K most likely classes (default: 1)")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="invert grayscale images before classifying. The digit and clothing "
                   "datasets are light on dark; 'auto' inverts a grayscale image whose border "
                   "is mostly light (dark ink on white paper) (default: auto)")
    p.set_defaults(func=_cmd_predict)
    return parser


def main(argv=None) -> int:
    """Run the ``ember`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit
    status. Usage errors raise ``SystemExit(2)`` from argparse."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CLIError as e:
        print(f"ember {args.command}: error: {e}", file=sys.stderr)
        return 1


# -- ember train ---------------------------------------------------------------------------

def _resolve(args, saved: dict | None) -> dict:
    """The effective options: given on the command line, else from the checkpoint being
    resumed, else the defaults."""
    saved = saved or {}
    opts = {}
    for key in ("model", "data", "root", "optimizer", "scheduler", "workers", "seed", "limit",
                "weight_decay", "epochs", "batch_size", "lr"):
        given = getattr(args, key)
        if given is not None:
            opts[key] = given
        elif key in saved:
            opts[key] = saved[key]
        else:
            opts[key] = _DEFAULTS.get(key)
    if opts["epochs"] is None:
        opts["epochs"] = _EPOCHS[opts["data"]]
    if opts["batch_size"] is None:
        opts["batch_size"] = _BATCH_SIZE[opts["data"]]
    if opts["lr"] is None:
        opts["lr"] = _LR[opts["optimizer"]]
    if opts["weight_decay"] is None:
        opts["weight_decay"] = 0.01 if opts["optimizer"] == "adamw" else 0.0
    return opts


def _make_optimizer(name: str, params, lr: float, weight_decay: float):
    from . import optim
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    cls = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop,
           "adagrad": optim.Adagrad, "adadelta": optim.Adadelta}[name]
    return cls(params, lr=lr, weight_decay=weight_decay)


def _make_scheduler(name: str, optimizer, lr: float, epochs: int, steps_per_epoch: int):
    """The scheduler and whether it steps per batch (else per epoch)."""
    from .optim import lr_scheduler
    total = epochs * steps_per_epoch
    if name == "none":
        return None, False
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1), False
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total), True
    if name == "onecycle":
        # cycle momentum only where the optimizer has one (Adam's beta1, SGD's momentum);
        # RMSprop's momentum is 0 by default and cycling it would switch it on
        defaults = optimizer.defaults
        cycle = "betas" in defaults or type(optimizer).__name__ == "SGD"
        return lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total,
                                       cycle_momentum=cycle), True
    if name == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5,
                                              patience=1), False
    raise ValueError(name)


def _require(module: str, purpose: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CLIError(f"{purpose} needs the {module.split('.')[0]} package: {TRAIN_EXTRA} "
                       f"(or pip install {module.split('.')[0]})") from None


def _importable(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


def _export_onnx(model, ckpt_path: str, test_set, path: str) -> float:
    """Export the best checkpoint's model to ``path`` with a dynamic batch axis, run it in
    onnxruntime on a batch of test images, and return the largest difference from ember's
    output (a failed check is an error: the file would be wrong)."""
    import numpy as np
    import onnxruntime

    import ember
    from .serialization import load

    model.load_state_dict(load(ckpt_path, weights_only=True)["model"])
    model.eval()
    n = min(len(test_set), 16)
    x = ember.stack([test_set[i][0] for i in range(n)])
    ember.onnx.export(model, x[:1], path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    session = onnxruntime.InferenceSession(path, None)
    got = session.run(["logits"], {"input": x.numpy()})[0]
    with ember.no_grad():
        expected = model(x).numpy()
    diff = float(np.abs(got - expected).max())
    if not diff <= 1e-3 or not np.array_equal(got.argmax(1), expected.argmax(1)):
        raise CLIError(f"the exported {path} disagrees with the ember model (max |diff| "
                       f"{diff:.3g}); please report this")
    return diff


def _default_out(opts: dict) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join("runs", f"{stamp}-{opts['data']}-{opts['model']}")
    out, n = base, 1
    while os.path.exists(out):
        n += 1
        out = f"{base}-{n}"
    return out


def _load_checkpoint(path: str) -> dict:
    from .serialization import load
    if not os.path.isfile(path):
        raise CLIError(f"checkpoint {path!r} does not exist")
    try:
        ckpt = load(path, weights_only=True)
    except Exception as e:  # noqa: BLE001  (a broken or foreign file: say which and why)
        raise CLIError(f"cannot read checkpoint {path!r}: {type(e).__name__}: {e}") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "model_config" not in ckpt:
        raise CLIError(f"{path!r} is not a checkpoint written by `ember train` (expected a dict "
                       "with 'model' and 'model_config')")
    return ckpt


def _current_lr(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def _cmd_train(args) -> int:
    from .train import data as tdata
    from .train import report

    ckpt = _load_checkpoint(args.resume) if args.resume else None
    saved_args = ckpt.get("args", {}) if ckpt else {}
    if ckpt:
        for key in ("model", "data"):
            given = getattr(args, key)
            if given is not None and given != saved_args.get(key):
                raise CLIError(f"the checkpoint was trained with --{key} {saved_args.get(key)}; "
                               f"it cannot be resumed with --{key} {given}")
    opts = _resolve(args, saved_args)

    # optional dependencies: fail before any work is done
    tqdm = None
    if not args.no_progress:
        tqdm = _require("tqdm", "the progress bar of `ember train` (or use --no-progress)").tqdm
    try:
        report.require_matplotlib()
    except ImportError as e:
        raise CLIError(str(e)) from None
    if args.export_onnx is None:
        args.export_onnx = _importable("onnx") and _importable("onnxruntime")
    elif args.export_onnx:
        _require("onnx", "--export-onnx")
        _require("onnxruntime", "--export-onnx")

    try:
        train_set, test_set, spec, classes = tdata.load_dataset(
            opts["data"], opts["root"], limit=opts["limit"], seed=opts["seed"])
    except tdata.DataNotFoundError as e:
        raise CLIError(str(e)) from None

    if args.threads:
        from .train.threads import get_blas_threads, set_blas_threads
        threads_before = get_blas_threads()
        set_blas_threads(args.threads)
    try:
        return _train(args, opts, ckpt, saved_args, tqdm, train_set, test_set, spec, classes)
    finally:
        if args.threads and threads_before:
            set_blas_threads(threads_before)   # leave an in-process caller as it was


def _train(args, opts, ckpt, saved_args, tqdm, train_set, test_set, spec, classes) -> int:
    import numpy as np

    import ember

    from .serialization import save
    from .train import data as tdata
    from .train import loop, report
    from .train.models import build_model

    seed = opts["seed"]
    ember.manual_seed(seed)
    model = build_model(opts["model"], spec.channels, spec.size, spec.num_classes)
    optimizer = _make_optimizer(opts["optimizer"], model.parameters(), opts["lr"],
                                opts["weight_decay"])
    # the shuffle order of epoch e comes from (seed, e) alone, so a resumed run sees the
    # batches an uninterrupted one would have
    shuffle_gen = ember.Generator()
    train_loader = tdata.make_loader(train_set, opts["batch_size"], shuffle=True,
                                     workers=opts["workers"], generator=shuffle_gen)
    test_loader = tdata.make_loader(test_set, 256, shuffle=False, workers=opts["workers"])
    steps_per_epoch = len(train_loader)
    scheduler, per_batch = _make_scheduler(opts["scheduler"], optimizer, opts["lr"],
                                           opts["epochs"], steps_per_epoch)
    loss_fn = ember.nn.CrossEntropyLoss()

    history, best, start_epoch = [], None, 1
    if ckpt:
        if opts["scheduler"] in _HORIZON_SCHEDULERS:
            planned = saved_args.get("epochs", 0) * ckpt.get("steps_per_epoch", 0)
            if planned != opts["epochs"] * steps_per_epoch:
                raise CLIError(
                    f"--scheduler {opts['scheduler']} planned its schedule over "
                    f"{saved_args.get('epochs')} epochs of {ckpt.get('steps_per_epoch')} "
                    f"batches; resume with the same --epochs and --batch-size (or train a new "
                    f"run)")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt.get("scheduler") is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        history = list(ckpt.get("metrics", {}).get("history", []))
        best = ckpt.get("metrics", {}).get("best")
        start_epoch = int(ckpt["epoch"]) + 1
        if start_epoch > opts["epochs"]:
            print(f"{args.resume} already has {ckpt['epoch']} of {opts['epochs']} epochs; "
                  "nothing to do (pass a larger --epochs to train further)")
            return 0

    out = args.out or (os.path.dirname(os.path.abspath(args.resume)) if ckpt else
                       _default_out(opts))
    os.makedirs(out, exist_ok=True)
    paths = {k: os.path.join(out, v) for k, v in (
        ("best", "best.pt"), ("last", "last.pt"), ("metrics", "metrics.json"),
        ("curves", "curves.png"), ("confusion", "confusion.png"), ("onnx", "model.onnx"))}

    n_params = sum(p.numel() for p in model.parameters())
    model_config = {"model": opts["model"], "data": opts["data"], "channels": spec.channels,
                    "size": spec.size, "num_classes": spec.num_classes,
                    "mean": list(spec.mean), "std": list(spec.std), "classes": list(classes)}
    title = f"{opts['model']} on {opts['data']}"
    print(f"ember train: {title} ({n_params:,} parameters)")
    print(f"  data      {spec.description}; training on {len(train_set):,}, testing on "
          f"{len(test_set):,}")
    sched_txt = opts["scheduler"] + (" (per batch)" if per_batch else "")
    print(f"  training  {opts['epochs']} epochs, batch {opts['batch_size']}, "
          f"{opts['optimizer']} lr {opts['lr']:g}, scheduler {sched_txt}, seed {seed}")
    if ckpt:
        print(f"  resuming  from {args.resume} after epoch {ckpt['epoch']}")
    print(f"  output    {out}", flush=True)

    def metrics_doc(done: bool) -> dict:
        return {"args": opts, "model_config": model_config, "parameters": n_params,
                "train_samples": len(train_set), "test_samples": len(test_set),
                "steps_per_epoch": steps_per_epoch, "epochs_completed": len(history),
                "finished": done, "history": history,
                "best": best, "total_seconds": sum(h["seconds"] for h in history)}

    def checkpoint(epoch: int) -> dict:
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "epoch": epoch, "metrics": {"history": history, "best": best}, "args": opts,
                "model_config": model_config, "steps_per_epoch": steps_per_epoch,
                "ember_version": ember.__version__}

    def plots():
        # drawn once at the end (and on Ctrl-C): a figure costs about as much as an epoch of
        # the default run
        report.plot_curves(history, paths["curves"], title)
        report.plot_confusion(np.asarray(best["confusion_matrix"]), classes,
                              paths["confusion"], f"{title}: test confusion, epoch "
                              f"{best['epoch']}")

    epoch = start_epoch - 1
    try:
        for epoch in range(start_epoch, opts["epochs"] + 1):
            # the randomness of an epoch (dropout, shuffling) depends on (seed, epoch) only
            ember.manual_seed(seed * 100003 + epoch)
            shuffle_gen.manual_seed(seed * 100003 + epoch)
            lr_start = _current_lr(optimizer)
            progress = None
            if tqdm is not None:
                def progress(total, epoch=epoch):
                    return tqdm(total=total, desc=f"epoch {epoch}/{opts['epochs']}", unit="batch",
                                leave=False, dynamic_ncols=True, file=sys.stderr)
            tr = loop.train_one_epoch(model, train_loader, loss_fn, optimizer,
                                      scheduler if per_batch else None, progress)
            te = loop.evaluate(model, test_loader, loss_fn, spec.num_classes)
            if scheduler is not None and not per_batch:
                if opts["scheduler"] == "plateau":
                    scheduler.step(te["acc"])
                else:
                    scheduler.step()
            record = {"epoch": epoch, "lr": lr_start, "train_loss": tr["loss"],
                      "train_acc": tr["acc"], "test_loss": te["loss"], "test_acc": te["acc"],
                      "train_seconds": tr["seconds"], "test_seconds": te["seconds"],
                      "seconds": tr["seconds"] + te["seconds"]}
            history.append(record)
            improved = best is None or te["acc"] > best["test_acc"]
            if improved:
                best = {"epoch": epoch, "test_acc": te["acc"], "test_loss": te["loss"],
                        "confusion_matrix": te["confusion"].tolist()}
            ckpt_now = checkpoint(epoch)
            save(ckpt_now, paths["last"])
            if improved:
                save(ckpt_now, paths["best"])
            print(f"epoch {epoch:>3}/{opts['epochs']}  train loss {tr['loss']:.4f} acc "
                  f"{tr['acc']:7.2%}  |  test loss {te['loss']:.4f} acc {te['acc']:7.2%}  |  "
                  f"lr {lr_start:.2e}  {tr['seconds']:.1f}s+{te['seconds']:.1f}s"
                  + ("  *best*" if improved else ""), flush=True)
            report.write_json(paths["metrics"], metrics_doc(epoch == opts["epochs"]))
    except KeyboardInterrupt:
        if history:
            plots()
        print(f"\ninterrupted during epoch {epoch}; {paths['last']} holds the last completed "
              f"epoch. Continue with: ember train --resume {paths['last']}", file=sys.stderr)
        return 130
    plots()
    onnx_diff = None
    if args.export_onnx:
        onnx_diff = _export_onnx(model, paths["best"], test_set, paths["onnx"])

    total = sum(h["seconds"] for h in history if h["epoch"] >= start_epoch)
    print(f"done in {total:.1f}s: best test accuracy {best['test_acc']:.2%} at epoch "
          f"{best['epoch']}")
    print(f"  best checkpoint  {paths['best']}")
    print(f"  last checkpoint  {paths['last']}")
    print(f"  metrics          {paths['metrics']}")
    print(f"  curves           {paths['curves']}")
    print(f"  confusion matrix {paths['confusion']}")
    if onnx_diff is not None:
        print(f"  onnx model       {paths['onnx']} (checked with onnxruntime: max |diff| "
              f"{onnx_diff:.1e})")
    print(f"  try: ember predict {paths['best']} IMAGE.png")
    return 0


# -- ember predict -------------------------------------------------------------------------

def _prepare_image(image_module, path: str, cfg: dict, invert: str):
    """Open ``path`` and turn it into the model's input: a float32 array C x S x S,
    normalised like the training data."""
    import numpy as np
    img = image_module.open(path)
    img.load()
    channels, size = int(cfg["channels"]), int(cfg["size"])
    img = img.convert("L" if channels == 1 else "RGB")
    arr = np.asarray(img, dtype=np.float32)
    if channels == 1:
        border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
        flip = invert == "yes" or (invert == "auto" and border.mean() > 127.5)
        if flip:
            arr = 255.0 - arr
        # pad to a square with the background (the border's value) so the content keeps its
        # aspect ratio, as the datasets' centred digits do
        h, w = arr.shape
        if h != w:
            side = max(h, w)
            background = float(np.median(255.0 - border if flip else border))
            sq = np.full((side, side), background, dtype=np.float32)
            top, left = (side - h) // 2, (side - w) // 2
            sq[top:top + h, left:left + w] = arr
            arr = sq
        img = image_module.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
    if img.size != (size, size):
        # box filtering when shrinking averages the pixels each output pixel covers (what
        # the 8x8 digits were made by); bilinear when enlarging
        resample = image_module.Resampling.BOX if min(img.size) > size else \
            image_module.Resampling.BILINEAR
        img = img.resize((size, size), resample)
    arr = np.asarray(img, dtype=np.float32)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    mean = np.asarray(cfg["mean"], dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(cfg["std"], dtype=np.float32).reshape(-1, 1, 1)
    return (arr / 255.0 - mean) / std


def _cmd_predict(args) -> int:
    import numpy as np

    import ember

    from .train.models import build_model

    try:
        from PIL import Image
    except ImportError:
        raise CLIError(f"reading images needs Pillow: {TRAIN_EXTRA} (or pip install "
                       "pillow)") from None
    ckpt = _load_checkpoint(args.checkpoint)
    cfg = ckpt["model_config"]
    model = build_model(cfg["model"], int(cfg["channels"]), int(cfg["size"]),
                        int(cfg["num_classes"]))
    model.load_state_dict(ckpt["model"])
    model.eval()
    classes = list(cfg.get("classes") or range(int(cfg["num_classes"])))

    status = 0
    batch, names = [], []
    for path in args.images:
        try:
            batch.append(_prepare_image(Image, path, cfg, args.invert))
            names.append(path)
        except (OSError, ValueError) as e:   # missing or unreadable file: report, go on
            print(f"ember predict: error: {path}: {e}", file=sys.stderr)
            status = 1
    if batch:
        with ember.no_grad():
            probs = ember.softmax(model(ember.from_numpy(np.stack(batch))), dim=1).numpy()
        k = min(args.top, len(classes))
        for path, p in zip(names, probs):
            order = np.argsort(-p, kind="stable")[:k]
            best = order[0]
            line = f"{path}: {classes[best]} ({p[best]:.1%})"
            if k > 1:
                line += "  [" + ", ".join(f"{classes[i]} {p[i]:.1%}" for i in order[1:]) + "]"
            print(line)
    return status
