#!/usr/bin/python3
"""PyTorch reference for `make bench`: the ptrain presets `fmnist`, `cxr` and `resnet18`, trained
(or, with --infer, run for inference) on random input.

Usage: /usr/bin/python3 tests/bench/torch_ref.py ARCH THREADS [STEPS] [WARMUP] [--procs N]
       [--side S] [--batch B] [--infer] [--config]
Prints one line "ARCH THREADS IMAGES_PER_S" (with --procs N > 1: "ARCH NxTHREADS IMAGES_PER_S",
global images/s) and, with --config, first the BLAS/oneDNN lines of torch.__config__.show(),
each prefixed with "config: ", and "parameters: ARCH N".

The model is the README's preset exactly: conv3x3 pad 1 with bias, batch norm eps 1e-5 momentum
0.1, He-normal fan-in init (kaiming_normal_) for conv and dense weights, zero biases; SGD momentum
0.9 lr 0.01, cross-entropy. resnet18 is ptrain's (torchvision's ResNet-18 with a 1-channel stem,
convolutions without bias; see torch_common.py). The tuned configuration of issue 5: OpenMP
threads = THREADS, OpenBLAS's own pool at 1 thread, glibc malloc told neither to mmap nor to trim
(what jemalloc or tcmalloc give PyTorch users). All of it is set before torch is imported
(torch_common.tune).

--side S: S x S input (default: the preset's, fmnist 28, cxr 128, resnet18 224). --batch B: the
global batch (default: fmnist 64, cxr and resnet18 32; with --infer 64, as `ptrain eval`).
--infer: model.eval() and torch.no_grad(), forward and softmax only, STEPS batches of B, one
process; images/s as ptrain eval's inference_images_per_second.

--procs N: DistributedDataParallel over N processes on this machine (gloo, env:// on 127.0.0.1,
started by torch_common.launch), THREADS threads each. The batch is the GLOBAL batch, as ptrain's
--batch: each process trains on batch/N images per step (per-rank batch norm, as ptrain and DDP
without SyncBatchNorm), and STEPS counts global steps, so the same STEPS means the same images.
"""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_common  # noqa: E402

PRESETS = {  # arch: (input side, classes, global batch, steps, warm-up steps)
    "fmnist": (28, 10, 64, 300, 20),
    "cxr": (128, 2, 32, 40, 5),
    "resnet18": (224, 2, 32, 10, 2),
}
INFER_BATCH = 64  # ptrain eval's batch
VALUE_OPTIONS = ("--procs", "--side", "--batch")  # options followed by a positive integer


def usage():
    sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
    sys.exit(2)


def parse(argv):
    args, opts, flags, i = [], {}, set(), 0
    while i < len(argv):
        a = argv[i]
        name, _, value = a.partition("=")
        if a in ("--config", "--infer"):
            flags.add(a)
        elif name in VALUE_OPTIONS:
            if not value and i + 1 < len(argv):
                i += 1
                value = argv[i]
            if not value.isdigit() or int(value) < 1:
                usage()
            opts[name] = int(value)
        elif a.startswith("--") or not (a in PRESETS or a.isdigit()):
            usage()
        else:
            args.append(a)
        i += 1
    if not 2 <= len(args) <= 4 or args[0] not in PRESETS:
        usage()
    if "--infer" in flags and opts.get("--procs", 1) > 1:
        sys.exit("torch_ref.py: error: --infer runs in one process")
    return args, opts, flags


args, opts, flags = parse(sys.argv[1:])
arch, threads = args[0], int(args[1])
side, classes, batch, steps, warmup = PRESETS[arch]
infer, show_config = "--infer" in flags, "--config" in flags
procs = opts.get("--procs", 1)
side = opts.get("--side", side)
batch = opts.get("--batch", INFER_BATCH if infer else batch)
steps = int(args[2]) if len(args) > 2 else steps
warmup = int(args[3]) if len(args) > 3 else warmup
if batch % procs:
    sys.exit("torch_ref.py: error: global batch %d does not split over %d processes" % (batch, procs))

if torch_common.is_launcher(procs):
    sys.exit(torch_common.launch(procs))

torch_common.tune(threads)
import torch  # noqa: E402  (after the environment and malloc are set)
from torch import nn  # noqa: E402


def print_config():
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


def main():
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    rank, world = torch_common.init_distributed()
    if show_config and rank == 0:
        print_config()
    model = torch_common.build(arch, classes)
    model.train(not infer)
    if show_config and rank == 0:
        print("parameters: %s %d" % (arch, sum(p.numel() for p in model.parameters())))
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    torch.manual_seed(1 + rank)
    local = batch // world
    x = torch.randn(local, 1, side, side)
    y = torch.randint(0, classes, (local,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def infer_step():  # what ptrain eval does per batch: the forward pass and the softmax
        with torch.no_grad():
            return torch.softmax(model(x), dim=1)

    step = infer_step if infer else train_step
    for _ in range(warmup):
        step()
    if world > 1:
        torch.distributed.barrier()
    t0 = time.perf_counter()
    out = None
    for _ in range(steps):
        out = step()
    if out is not None:
        float(out.sum())
    dt = torch.tensor([time.perf_counter() - t0], dtype=torch.float64)
    if world > 1:  # the slowest rank's time
        torch.distributed.all_reduce(dt, op=torch.distributed.ReduceOp.MAX)
        torch.distributed.destroy_process_group()
    if rank == 0:
        label = str(threads) if world == 1 else "%dx%d" % (world, threads)
        print("%s %s %.1f" % (arch, label, steps * batch / dt.item() if steps else 0.0))


if __name__ == "__main__":
    main()
