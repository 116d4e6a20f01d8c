#!/usr/bin/python3
"""PyTorch side of tests/bench/accuracy_bench.sh: Fashion-MNIST, the ptrain `fmnist` preset.

Usage: /usr/bin/python3 tests/bench/torch_fmnist.py [--idx DIR] [--cache FILE.h5] [--epochs N]
    [--batch N] [--lr X] [--momentum X] [--weight-decay X] [--seed S] [--threads T] [--procs N]
    [--max-steps N] [--json OUT]

Does what `ptrain train --arch fmnist --no-augment --class-weights none` does, in PyTorch 1.13:
- images from the IDX files in DIR (default /usr/share/datasets/fashion-mnist, read with gzip and
  numpy); with --cache, the train and validation images are the ones ptrain-prep put in the
  cache's train and val splits (found by their ids "train-NNNNNN", checked byte for byte against
  the IDX images; needs h5py), else all 60,000 train images and no validation;
- inputs pixels/255 normalised with the training split's mean and std (ptrain-prep's formula);
- the preset's layers and init (torch_common.build), SGD (PyTorch's momentum buffer, as ptrain),
  constant learning rate, weight decay on conv and dense weights only, mean cross-entropy over
  the GLOBAL batch (--batch, split over --procs processes as ptrain splits it over its ranks);
- one shuffled permutation per epoch, the last partial batch dropped;
- after every epoch, validation loss, accuracy and macro one-vs-rest ROC AUC; the model of the
  epoch with the best validation macro AUC (the last epoch without validation) is evaluated once
  on the 10,000 test images: accuracy, mean cross-entropy, macro AUC.
--procs N > 1: DistributedDataParallel over N processes (gloo, 127.0.0.1), T threads each.
Prints one line per epoch and the test line; --json OUT writes every figure to OUT.
Tuning as torch_ref.py (OpenMP threads = T, OpenBLAS 1 thread, malloc without mmap or trim).
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_common  # noqa: E402


def parse():
    p = argparse.ArgumentParser(description="PyTorch Fashion-MNIST reference for ptrain's fmnist preset")
    p.add_argument("--idx", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--cache", help="a ptrain-prep cache of the same IDX files: its train/val split")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=64, help="global batch")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="threads per process")
    p.add_argument("--procs", type=int, default=1, help="DDP processes (1: no DDP)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after N steps in total (tests)")
    p.add_argument("--json", help="write the results here")
    a = p.parse_args()
    if a.procs < 1 or a.threads < 1 or a.epochs < 1 or a.batch < a.procs:
        p.error("need --procs >= 1, --threads >= 1, --epochs >= 1, --batch >= --procs")
    return a


args = parse()
if torch_common.is_launcher(args.procs):
    sys.exit(torch_common.launch(args.procs))

torch_common.tune(args.threads)
import numpy as np  # noqa: E402
import torch  # noqa: E402  (after the environment and malloc are set)
from torch import nn  # noqa: E402


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit("torch_fmnist.py: error: %s: not an unsigned-byte IDX file" % path)
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def idx_file(name):
    for suffix in (".gz", ""):
        path = os.path.join(args.idx, name + suffix)
        if os.path.exists(path):
            return path
    sys.exit("torch_fmnist.py: error: %s: no %s[.gz]" % (args.idx, name))


def train_stats(images):
    """ptrain-prep's mean and std of pixels/255 over the training split."""
    px = images.astype(np.float64).ravel()
    mean = px.sum() / px.size / 255.0
    var = (px * px).sum() / px.size / (255.0 * 255.0) - mean * mean
    return mean, (np.sqrt(var) if var > 0 else 1.0)


def load():
    """(train x, train y, val x, val y, test x, test y, mean, std, note); images uint8 [N,28,28]."""
    x60, y60 = read_idx(idx_file("train-images-idx3-ubyte")), read_idx(idx_file("train-labels-idx1-ubyte"))
    xt, yt = read_idx(idx_file("t10k-images-idx3-ubyte")), read_idx(idx_file("t10k-labels-idx1-ubyte"))
    if not args.cache:
        mean, std = train_stats(x60)
        return x60, y60, None, None, xt, yt, mean, std, "all 60000 IDX train images, no validation"
    import h5py

    def ids(group):
        names = [s.decode() for s in group["patient"][:]]
        if not all(n.startswith("train-") for n in names):
            sys.exit("torch_fmnist.py: error: %s: ids are not train-NNNNNN" % args.cache)
        return np.array([int(n[6:]) for n in names], dtype=np.int64)

    with h5py.File(args.cache, "r") as f:
        tr, va = ids(f["train"]), ids(f["val"])
        for split, sel in (("train", tr), ("val", va)):
            if not (np.array_equal(f[split + "/images"][:], x60[sel])
                    and np.array_equal(f[split + "/labels"][:], y60[sel].astype(np.int32))):
                sys.exit("torch_fmnist.py: error: %s: %s split differs from the IDX files"
                         % (args.cache, split))
        if not np.array_equal(f["test/images"][:], xt):
            sys.exit("torch_fmnist.py: error: %s: test split differs from the IDX files" % args.cache)
        cache_mean, cache_std = float(f["train"].attrs["mean"]), float(f["train"].attrs["std"])
    mean, std = train_stats(x60[tr])
    if abs(mean - cache_mean) > 1e-6 or abs(std - cache_std) > 1e-6:
        sys.exit("torch_fmnist.py: error: mean/std %g/%g differ from the cache's %g/%g"
                 % (mean, std, cache_mean, cache_std))
    note = "the cache's %d train / %d validation images (ids from %s), IDX pixels" % (
        len(tr), len(va), os.path.basename(args.cache))
    return x60[tr], y60[tr], x60[va], y60[va], xt, yt, mean, std, note


def normalize(images, mean, std):
    """As ptrain's pt_normalize: x * 1/(255 std) - mean/std, in float32."""
    scale, offset = np.float32(1.0 / (255.0 * std)), np.float32(-mean / std)
    x = images.astype(np.float32) * scale + offset
    return torch.from_numpy(np.ascontiguousarray(x[:, None, :, :]))


def macro_auc(probs, labels):
    """Mean over classes of the one-vs-rest ROC AUC (Mann-Whitney, ties counted half)."""
    aucs = []
    for c in range(probs.shape[1]):
        pos = labels == c
        npos, nneg = int(pos.sum()), int((~pos).sum())
        if npos == 0 or nneg == 0:
            continue
        s = probs[:, c]
        order = np.argsort(s, kind="mergesort")
        ss = s[order]
        cut = np.flatnonzero(np.diff(ss)) + 1
        starts, ends = np.r_[0, cut], np.r_[cut, len(ss)]
        ranks = np.empty(len(ss))
        ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
        aucs.append((ranks[pos].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))
    return float(np.mean(aucs)) if aucs else float("nan")


def evaluate(net, x, y, rank, world):
    """Every process takes a slice (as ptrain); all get (mean loss, accuracy, macro AUC)."""
    n = len(y)
    lo, hi = n * rank // world, n * (rank + 1) // world
    net.eval()
    parts = []
    with torch.no_grad():
        for s in range(lo, hi, 1000):
            parts.append(torch.softmax(net(x[s:min(hi, s + 1000)]), dim=1).numpy())
    net.train()
    mine = np.concatenate(parts) if parts else np.zeros((0, 10), np.float32)
    if world > 1:
        every = [None] * world
        torch.distributed.all_gather_object(every, mine)
        mine = np.concatenate(every)
    p = mine.astype(np.float64)
    loss = float(-np.log(np.maximum(p[np.arange(n), y], 1e-30)).mean())
    acc = float((p.argmax(axis=1) == y).mean())
    return loss, acc, macro_auc(p, y)


def main():
    torch.set_num_threads(args.threads)
    rank, world = torch_common.init_distributed()
    say = print if rank == 0 else (lambda *a, **k: None)
    xtr, ytr, xva, yva, xte, yte, mean, std, note = load()
    say("torch_fmnist: %s; mean %.6f std %.6f; %d process(es) x %d thread(s), global batch %d"
        % (note, mean, std, world, args.threads, args.batch), flush=True)
    xtr, xte = normalize(xtr, mean, std), normalize(xte, mean, std)
    xva = normalize(xva, mean, std) if xva is not None else None
    ytr_t = torch.from_numpy(ytr.astype(np.int64))
    yte, yva = yte.astype(np.int64), (yva.astype(np.int64) if yva is not None else None)

    torch.manual_seed(args.seed)
    net = torch_common.build("fmnist", 10)
    net.train()
    model = nn.parallel.DistributedDataParallel(net) if world > 1 else net
    decay = [p for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) for p in [m.weight]]
    rest = [p for p in net.parameters() if all(p is not q for q in decay)]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": args.weight_decay},
                           {"params": rest, "weight_decay": 0.0}],
                          lr=args.lr, momentum=args.momentum)
    loss_fn = nn.CrossEntropyLoss()

    n, b = len(ytr), args.batch
    steps_per_epoch = n // b
    lo, hi = b * rank // world, b * (rank + 1) // world  # this process's slice of every batch
    history, best, best_state, step = [], None, None, 0
    wall0 = time.perf_counter()
    for epoch in range(args.epochs):
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed * 1000003 + epoch))
        t0 = time.perf_counter()
        stats = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, samples (this process)
        done = 0
        for s in range(steps_per_epoch):
            if args.max_steps and step >= args.max_steps:
                break
            idx = perm[s * b + lo:s * b + hi]
            xb, yb = xtr[idx], ytr_t[idx]
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)  # local mean; DDP averages the equal slices: global mean
            loss.backward()
            opt.step()
            stats += torch.tensor([loss.item() * len(idx), (logits.argmax(1) == yb).sum().item(), len(idx)],
                                  dtype=torch.float64)
            step += 1
            done += 1
        if world > 1:
            torch.distributed.all_reduce(stats)
        train_s = time.perf_counter() - t0
        row = {"epoch": epoch + 1, "steps": done, "train_loss": stats[0].item() / max(stats[2].item(), 1),
               "train_accuracy": stats[1].item() / max(stats[2].item(), 1), "train_seconds": train_s,
               "images_per_second": stats[2].item() / train_s if train_s > 0 else float("nan")}
        score = float(epoch)
        if xva is not None:
            row["val_loss"], row["val_accuracy"], row["val_macro_auc"] = evaluate(net, xva, yva, rank, world)
            score = row["val_macro_auc"] if np.isfinite(row["val_macro_auc"]) else -row["val_loss"]
        row["epoch_seconds"] = time.perf_counter() - t0
        history.append(row)
        say("epoch %d/%d  train loss %.4f acc %.3f  val loss %.4f acc %.3f auc %.4f  %.0f img/s  "
            "(train %.1fs, epoch %.1fs)" % (row["epoch"], args.epochs, row["train_loss"], row["train_accuracy"],
                                           row.get("val_loss", float("nan")), row.get("val_accuracy", float("nan")),
                                           row.get("val_macro_auc", float("nan")), row["images_per_second"],
                                           train_s, row["epoch_seconds"]), flush=True)
        if best is None or score > best[0]:
            best = (score, epoch + 1)
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        if args.max_steps and step >= args.max_steps:
            break
    train_wall = time.perf_counter() - wall0
    net.load_state_dict(best_state)
    test_loss, test_acc, test_auc = evaluate(net, xte, yte, rank, world)
    say("test (best epoch %d): accuracy %.4f loss %.4f macro auc %.4f  (%.1f s training + validation)"
        % (best[1], test_acc, test_loss, test_auc, train_wall), flush=True)
    if rank == 0 and args.json:
        out = {"framework": "PyTorch %s" % torch.__version__, "data": note, "processes": world,
               "threads_per_process": args.threads, "batch": args.batch, "lr": args.lr,
               "momentum": args.momentum, "weight_decay": args.weight_decay, "seed": args.seed,
               "epochs": history, "best_epoch": best[1],
               "selection": "validation macro AUC" if xva is not None else "last epoch",
               "train_and_validation_seconds": train_wall,
               "test": {"n": len(yte), "accuracy": test_acc, "loss": test_loss, "macro_auc": test_auc}}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    if world > 1:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
