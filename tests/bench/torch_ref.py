#!/usr/bin/python3
"""PyTorch reference for `make bench`: the ptrain `fmnist` and `cxr` presets, trained on random input.

Usage: /usr/bin/python3 tests/bench/torch_ref.py ARCH THREADS [STEPS] [WARMUP] [--config]
Prints one line "ARCH THREADS IMAGES_PER_S" (and, with --config, first the BLAS/oneDNN lines of
torch.__config__.show(), each prefixed with "config: ", and "parameters: ARCH N").

The model is the README's preset exactly: conv3x3 pad 1 with bias, batch norm eps 1e-5 momentum
0.1, He-normal fan-in init (kaiming_normal_) for conv and dense weights, zero biases; SGD momentum
0.9 lr 0.01, cross-entropy. The tuned configuration of issue 5: OpenMP threads = THREADS,
OpenBLAS's own pool at 1 thread, glibc malloc told neither to mmap nor to trim (what jemalloc or
tcmalloc give PyTorch users). All of it is set before torch is imported.
"""
import ctypes
import os
import sys
import time

PRESETS = {  # arch: (input side, classes, batch)
    "fmnist": (28, 10, 64),
    "cxr": (128, 2, 32),
}


def usage():
    sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
    sys.exit(2)


args = [a for a in sys.argv[1:] if not a.startswith("--")]
show_config = "--config" in sys.argv[1:]
if len(args) < 2 or args[0] not in PRESETS:
    usage()
arch, threads = args[0], int(args[1])
side, classes, batch = PRESETS[arch]
steps = int(args[2]) if len(args) > 2 else (300 if arch == "fmnist" else 40)
warmup = int(args[3]) if len(args) > 3 else (20 if arch == "fmnist" else 5)

os.environ["OMP_NUM_THREADS"] = str(threads)
os.environ["MKL_NUM_THREADS"] = str(threads)
os.environ["OPENBLAS_NUM_THREADS"] = "1"
libc = ctypes.CDLL("libc.so.6")
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
if libc.mallopt(M_MMAP_MAX, 0) != 1 or libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) != 1:
    sys.exit("torch_ref.py: error: mallopt failed")

import torch  # noqa: E402  (after the environment and malloc are set)
from torch import nn  # noqa: E402


def build(name):
    if name == "fmnist":
        layers = [
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, classes),
        ]
    else:
        layers, cin = [], 1
        for cout in (16, 32, 64, 128):
            layers += [nn.Conv2d(cin, cout, 3, padding=1),
                       nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
                       nn.ReLU(), nn.MaxPool2d(2)]
            cin = cout
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, classes)]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def main():
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    if show_config:
        keys = ("BLAS", "LAPACK", "MKL", "MKLDNN", "oneDNN", "OpenMP", "CPU capability",
                "USE_OPENMP", "USE_MKLDNN", "USE_MKL", "USE_OPENBLAS", "GCC", "PyTorch built")
        for line in torch.__config__.show().splitlines():
            line = line.strip(" -")
            if line.startswith("Build settings:"):
                for item in line[len("Build settings:"):].split(","):
                    item = item.strip()
                    if any(k in item for k in ("BLAS", "MKL", "OPENMP")):
                        print("config: " + item)
            elif any(k in line for k in keys):
                print("config: " + line)
        print("config: torch %s, mkldnn enabled %s, threads %d, interop threads %d"
              % (torch.__version__, torch.backends.mkldnn.is_available(),
                 torch.get_num_threads(), torch.get_num_interop_threads()))
    model = build(arch)
    model.train()
    if show_config:
        print("parameters: %s %d" % (arch, sum(p.numel() for p in model.parameters())))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, 1, side, side)
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    float(loss)
    dt = time.perf_counter() - t0
    print("%s %d %.1f" % (arch, threads, steps * batch / dt))


if __name__ == "__main__":
    main()
