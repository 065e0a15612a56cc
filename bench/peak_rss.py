"""Peak memory while training a 784-256-128-10 relu network (cross-entropy, batch 64) on full MNIST.

Each framework runs in its own fresh process: import it, load the data, read the resident set
size (VmRSS), train one epoch, read the peak (VmHWM). "Extra" is peak minus the RSS just before
training, i.e. what training itself costs beyond the interpreter, the libraries and the data.
The target is fastmlp's extra <= 16 MiB (the data's own footprint is already counted
in the baseline); PyTorch eager adds ~270 MiB on this machine kind.

Usage: python bench/peak_rss.py [--data DIR] [--peers fastmlp,torch,sklearn]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

DATA_HELP = ("folder with the MNIST IDX files; default $FASTMLP_DATA/mnist (else ~/.cache/fastmlp/mnist), "
             "fetched there with checksums if missing")

CHILD = r"""
import json, sys
import numpy as np

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024  # kB -> bytes
    raise KeyError(key)

name, data_dir = sys.argv[1], sys.argv[2]
import fastmlp as fm
Xtr, ytr, _, _ = fm.datasets.load_mnist(data_dir, kind="both")
data_bytes = Xtr.nbytes + ytr.nbytes
if name == "fastmlp":
    fm.set_num_threads(1)
    model = fm.MLP([784, 256, 128, 10], activation="relu", loss="cross_entropy", seed=0)
    train = lambda: model.fit(Xtr, ytr, epochs=1, batch_size=64, optimizer=fm.optim.SGD(lr=0.01))
elif name == "torch":
    import torch
    torch.set_num_threads(1)
    Xt, yt = torch.from_numpy(Xtr), torch.from_numpy(ytr)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    def train():
        order = torch.randperm(len(Xt))
        for s in range(0, len(order), 64):
            idx = order[s:s + 64]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(Xt.index_select(0, idx)), yt.index_select(0, idx)).backward()
            opt.step()
else:
    from sklearn.neural_network import MLPClassifier
    model = MLPClassifier((256, 128), solver="sgd", momentum=0.0, alpha=0.0, batch_size=64,
                          learning_rate_init=0.01, random_state=0)
    train = lambda: model.partial_fit(Xtr, ytr, classes=np.arange(10))
import gc; gc.collect()
with open("/proc/self/clear_refs", "w") as f:  # "5" resets VmHWM: loading's own peak must not count
    f.write("5")
before = status("VmRSS")
train()
peak = status("VmHWM")
print(json.dumps({"name": name, "data_bytes": data_bytes, "before": before, "peak": peak}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--peers", default="fastmlp,torch,sklearn")
    args = parser.parse_args()
    if args.data is None:
        import fastmlp as fm

        args.data = str(fm.datasets.download_mnist("mnist"))
    mib = 1 << 20
    print("| framework | data MiB | RSS before training MiB | peak MiB | extra for training MiB |")
    print("|---|---:|---:|---:|---:|")
    for name in args.peers.split(","):
        env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "FASTMLP_NUM_THREADS": "1"}

        proc = subprocess.run([sys.executable, "-c", CHILD, name, args.data], capture_output=True,
                              text=True, env={**os.environ, **env})
        if proc.returncode != 0:
            print(f"# {name} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        extra = r["peak"] - r["before"]
        print(f"| {name} | {r['data_bytes'] / mib:.0f} | {r['before'] / mib:.0f} | {r['peak'] / mib:.0f} "
              f"| {extra / mib:.1f} |")


if __name__ == "__main__":
    main()
