"""Shared by the PyTorch benchmark scripts (torch_ref.py, torch_fmnist.py).

- tune(threads): the tuned configuration of issue 5, which must be in place before torch is
  imported: OpenMP threads = threads, OpenBLAS's own pool at 1 thread, glibc malloc told neither
  to mmap nor to trim (what jemalloc or tcmalloc give PyTorch users).
- build(arch, classes): the ptrain presets `fmnist`, `cxr` and `resnet18` as PyTorch modules,
  initialised as ptrain does (He-normal fan-in conv and dense weights, zero biases, batch norm 1/0).
- launch(procs): data parallelism the way torchrun does it: the calling script is started again
  as `procs` processes with RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT in
  their environment; each of them calls init_distributed() (torch.distributed, gloo, env://)
  and wraps its model in DistributedDataParallel. The launcher itself never imports torch.

This module imports torch only inside its functions, so importing it does not defeat tune().
"""
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time


def tune(threads):
    """OpenMP threads, OpenBLAS at 1 thread, malloc without mmap or trim. Before `import torch`."""
    if "torch" in sys.modules:
        raise RuntimeError("torch_common.tune() must run before torch is imported")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_max = -1, -4
    if libc.mallopt(m_mmap_max, 0) != 1 or libc.mallopt(m_trim_threshold, 1 << 30) != 1:
        sys.exit("%s: error: mallopt failed" % os.path.basename(sys.argv[0]))


def _resnet18(classes):
    """ptrain's `resnet18` preset (resnet18_text() in src/nn/arch.c): torchvision's ResNet-18
    (BasicBlock, [2, 2, 2, 2]) with a 1-channel stem: conv7x7/2 pad 3, BN, ReLU, maxpool 3/2 pad 1,
    four stages of two blocks (64, 128, 256, 512 filters; the first block of stages 2-4 strides 2
    and has a 1x1/2 conv + BN shortcut), convolutions without bias, global average pool, dense
    with bias. Written out here because Debian's python3-torch comes without torchvision."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
            self.relu = nn.ReLU(inplace=True)
            self.shortcut = None
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                              nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1))

        def forward(self, x):
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + (x if self.shortcut is None else self.shortcut(x)))

    layers = [nn.Conv2d(1, 64, 7, stride=2, padding=3, bias=False),
              nn.BatchNorm2d(64, eps=1e-5, momentum=0.1), nn.ReLU(inplace=True),
              nn.MaxPool2d(3, stride=2, padding=1)]
    cin = 64
    for stage, cout in enumerate((64, 128, 256, 512)):
        layers += [Block(cin, cout, 2 if stage > 0 else 1), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def build(arch, classes):
    """The ptrain preset `arch` ("fmnist", "cxr" or "resnet18") with `classes` outputs, ptrain's
    init."""
    from torch import nn

    if arch == "fmnist":
        layers = [
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, classes),
        ]
    elif arch == "cxr":
        layers, cin = [], 1
        for cout in (16, 32, 64, 128):
            layers += [nn.Conv2d(cin, cout, 3, padding=1),
                       nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
                       nn.ReLU(), nn.MaxPool2d(2)]
            cin = cout
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, classes)]
    elif arch != "resnet18":
        raise ValueError("unknown preset %r" % arch)
    model = _resnet18(classes) if arch == "resnet18" else nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def rank_and_world():
    """(rank, world size) of this process: (0, 1) unless started by launch()."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def is_launcher(procs):
    """True in the process the user started when it is to start `procs` > 1 workers."""
    return procs > 1 and "RANK" not in os.environ


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(procs):
    """Runs this script (same arguments) as `procs` workers on 127.0.0.1; returns the exit status.

    Workers inherit stdout and stderr (the scripts print from rank 0 only). If a worker fails,
    the others are terminated (a rank left alone would wait in a collective)."""
    env = dict(os.environ)
    env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), WORLD_SIZE=str(procs))
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    workers = []
    for r in range(procs):
        env["RANK"] = env["LOCAL_RANK"] = str(r)
        workers.append(subprocess.Popen([sys.executable] + sys.argv, env=dict(env)))

    def stop(signum, _frame):
        for w in workers:
            if w.poll() is None:
                w.terminate()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while any(w.poll() is None for w in workers):
        failed = [w.returncode for w in workers if w.returncode not in (None, 0)]
        if failed:
            status = failed[0]
            for w in workers:
                if w.poll() is None:
                    w.terminate()
            break
        time.sleep(0.1)
    for w in workers:
        w.wait()
        if status == 0 and w.returncode != 0:
            status = w.returncode
    return 1 if status < 0 else status


def init_distributed():
    """In a worker of launch(): joins the gloo process group (env://). No-op for one process."""
    rank, world = rank_and_world()
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)
    return rank, world
