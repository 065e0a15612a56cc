"""The adversarial probe's cases (run by fuzz/adversarial.py), grouped by the kind of harm.

A case is a snippet run in a fresh child after PRELUDE, and what it must do: raise a given
exception whose message matches, or return (its own asserts passing), optionally warning, within
a memory and time bound, leaving no temporary file. Kinds: crash-hang, data-loss, memory,
silent-wrong, saving, messages, cli, concurrency, numerics.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expect:
    raises: str = ""        # exception type name(s), "A|B"; empty: the snippet must return
    match: str = ""         # regular expression the message must contain
    warns: str = ""         # regular expression one warning must match
    max_mib: float | None = None  # peak resident memory of the child
    max_s: float | None = None
    no_traceback: bool = True


@dataclass(frozen=True)
class Case:
    kind: str
    name: str
    code: str
    expect: Expect = field(default_factory=Expect)
    env: dict = field(default_factory=dict)
    timeout: float | None = None


PRELUDE = r'''
import io, json, os, signal, subprocess, sys, threading, time, zipfile, resource, contextlib
from pathlib import Path
import numpy as np
import fastmlp as fm
from fastmlp.backends import get_backend
TMP = Path(os.environ["ADV_TMP"])
rng = np.random.default_rng(0)
X = rng.standard_normal((128, 6)).astype(np.float32)
y = (X[:, 0] > 0).astype(np.int64)

def small(backend="cpp", **kw):
    return fm.MLP([6, 8, 2], backend=backend, seed=0, **kw)

def trained(backend="cpp", **kw):
    m = small(backend, **kw)
    m.fit(X, y, epochs=1, batch_size=32)
    return m

def arrays_of(path):
    with np.load(path, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}

def saved_arrays():
    trained().save(TMP / "good.npz")
    return arrays_of(TMP / "good.npz")

def with_meta(arrays, **fields):
    meta = json.loads(str(arrays["meta"]))
    meta.update(fields)
    return {**arrays, "meta": np.array(json.dumps(meta))}

def write_zip(path, items, compress=zipfile.ZIP_STORED):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of some cases
        with zipfile.ZipFile(path, "w", compress) as z:
            for name, arr in items:
                with z.open(name if name.endswith(".npy") else f"{name}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asarray(arr), allow_pickle=False)
    return path

def cli(*args):
    from fastmlp.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    assert "Traceback" not in err.getvalue(), err.getvalue()
    if code not in (0,):
        raise SystemExit(f"exit {code}: {err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else ''}")
    return out.getvalue()

def hwm():
    """Peak resident memory of this process so far, in bytes."""
    return int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]) * 1024

def limit_address_space(extra_mib):
    used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (used + (extra_mib << 20),) * 2)

def signal_mask_empty():
    return not signal.pthread_sigmask(signal.SIG_BLOCK, [])
'''

E = Expect
C = Case

CASES = [
    # --- crash and hang ------------------------------------------------------------------------
    C("crash-hang", "1024 threads under a 3 GiB address-space limit", '''
resource.setrlimit(resource.RLIMIT_AS, (3 << 30,) * 2)
try:
    fm.set_num_threads(1024)
finally:
    assert signal_mask_empty(), "signals left blocked"
''', E("RuntimeError", r"could not start thread \d+ of 1024")),
    C("crash-hang", "first worker cannot start (address space full)", '''
cpp = get_backend("cpp"); cpp.set_parallel_min_macs(0)
limit_address_space(4)
try:
    cpp.set_num_threads(4)
finally:
    assert signal_mask_empty(), "signals left blocked"
''', E("RuntimeError", r"could not start thread 2 of 4 .*set_num_threads")),
    C("crash-hang", "FASTMLP_NUM_THREADS=1024 under a limit: first GEMM", '''
resource.setrlimit(resource.RLIMIT_AS, (3 << 30,) * 2)
cpp = get_backend("cpp"); cpp.set_parallel_min_macs(0)
cpp.matmul(np.ones((64, 64)), np.ones((64, 64)))
''', E("RuntimeError", "FASTMLP_NUM_THREADS"), env={"FASTMLP_NUM_THREADS": "1024"}),
    C("crash-hang", "after a failed pool start, 1 thread still trains", '''
cpp = get_backend("cpp")
limit_address_space(4)
try:
    cpp.set_num_threads(3)
except RuntimeError:
    pass
cpp.set_num_threads(1)
trained()
''', E()),
    C("crash-hang", "thread count far above the CPUs", '''
fm.set_num_threads(min(1024, 8 * len(os.sched_getaffinity(0)) + 1))
''', E(warns="more than 4x the")),
    C("crash-hang", "unreadable FASTMLP_NUM_THREADS", "fm.get_num_threads()",
      E(warns="not a positive integer"), env={"FASTMLP_NUM_THREADS": "lots"}),
    C("crash-hang", "fork after the pool started, child trains", '''
fm.set_num_threads(2); get_backend("cpp").set_parallel_min_macs(0)
get_backend("cpp").matmul(np.ones((64, 64)), np.ones((64, 64)))
pid = os.fork()
if pid == 0:
    try:
        trained(); os._exit(0)
    except BaseException:
        os._exit(1)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
''', E()),
    C("crash-hang", "load a FIFO as a model file (no hang)", '''
os.mkfifo(TMP / "pipe.npz")
fm.MLP.load(TMP / "pipe.npz")
''', E("ValueError", "pipe.npz is not a regular file"), timeout=30),
    C("crash-hang", "SIGTERM during fit ends the process", '''
code = "import numpy as np, fastmlp as fm\\nX=np.ones((20000,50),np.float32)\\nprint('go',flush=True)\\nfm.MLP([50,256,2]).fit(X, np.zeros(20000,int), epochs=1000)"
p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
assert p.stdout.readline().strip() == "go"; time.sleep(0.5); p.terminate()
assert p.wait(timeout=30) == -signal.SIGTERM
''', E()),

    # --- data loss -----------------------------------------------------------------------------
    C("data-loss", "save NaN weights over a good file", '''
m = trained(); m.save(TMP / "m.npz"); good = (TMP / "m.npz").read_bytes()
m.network.weights[0][0, 0] = np.nan
try:
    m.save(TMP / "m.npz")
finally:
    assert (TMP / "m.npz").read_bytes() == good, "good file replaced"
''', E("ValueError", r"NaN or infinity in 'w0'.*not saved")),
    C("data-loss", "Adam(eps=1e-50) float32 with a dead feature", '''
Xd = X.copy(); Xd[:, 2] = 0
m = small()
try:
    m.fit(Xd, y, epochs=2, optimizer=fm.optim.Adam(eps=1e-50))
finally:
    assert all(np.isfinite(a).all() for a in m.weights + m.biases), "NaN left in the model"
''', E("FloatingPointError", "rolled back", warns="eps=1e-50 rounds to 0")),
    C("data-loss", "Adam(lr=1e38) leaves finite weights", '''
m = small()
try:
    m.fit(X, y, epochs=2, optimizer=fm.optim.Adam(lr=1e38))
finally:
    assert all(np.isfinite(a).all() for a in m.weights + m.biases), "inf left in the model"
''', E("FloatingPointError", "rolled back")),
    C("data-loss", "numba Adam(eps=1e-50): same error as cpp", '''
Xd = X.copy(); Xd[:, 2] = 0
small("numba").fit(Xd, y, epochs=2, optimizer=fm.optim.Adam(eps=1e-50))
''', E("FloatingPointError", "rolled back")),
    C("data-loss", "loaded step near 2^63", '''
a = saved_arrays()
fm.MLP.load(write_zip(TMP / "s.npz", with_meta(a, step=2**63 - 5).items()))
''', E("ValueError", r"'step' must be an int in \[0, 9007199254740992\]")),
    C("data-loss", "CLI --save to a missing folder fails before training", '''
out = ""
try:
    out = cli("train", "--dataset", "xor", "--epochs", "50", "--save", "no/such/m.npz")
finally:
    assert "test accuracy" not in out
''', E("SystemExit", "folder 'no/such' does not exist")),
    C("data-loss", "CLI --save with a wrong suffix fails before training", '''
cli("train", "--dataset", "xor", "--epochs", "50", "--save", "m.pt")
''', E("SystemExit", r"must end in \.npz")),
    C("data-loss", "file-size limit hit mid-save keeps the old file", '''
m = fm.MLP([600, 600, 2], seed=0); m.save(TMP / "m.npz"); good = (TMP / "m.npz").read_bytes()
m2 = fm.MLP([600, 600, 2], seed=1)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
try:
    m2.save(TMP / "m.npz")
finally:
    assert (TMP / "m.npz").read_bytes() == good
''', E("OSError", "File too large")),

    # --- memory from tiny files ----------------------------------------------------------------
    C("memory", "metadata lies: 100000 x 100000 layers", '''
a = saved_arrays()
fm.MLP.load(write_zip(TMP / "lie.npz", with_meta(a, layer_sizes=[100000, 100000, 2]).items()))
''', E("ValueError", r"array 'w0' is float32\(6, 8\), expected float32\(100000, 100000\)", max_mib=300)),
    C("memory", "safetensors whose metadata lies about sizes", '''
from fastmlp.safetensors_io import META_KEY, FORMAT, load_safetensors
import safetensors.numpy as stn
m = trained(); m.save(TMP / "g.npz"); a = arrays_of(TMP / "g.npz")
meta = json.loads(str(a.pop("meta"))); meta["layer_sizes"] = [50000, 50000, 2]
stn.save_file(a, str(TMP / "lie.safetensors"), metadata={"format": FORMAT, META_KEY: json.dumps(meta)})
load_safetensors(TMP / "lie.safetensors")
''', E("ValueError", r"expected float32\(50000, 50000\)", max_mib=300)),
    C("memory", "1 MB zip bomb under an unexpected name", '''
a = saved_arrays()
with zipfile.ZipFile(TMP / "bomb.npz", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for k, v in a.items():
        with z.open(k + ".npy", "w") as f: np.lib.format.write_array(f, v)
    with z.open("payload.npy", "w", force_zip64=True) as f:
        for _ in range(1000): f.write(bytes(1 << 20))
assert (TMP / "bomb.npz").stat().st_size < 2 << 20
fm.MLP.load(TMP / "bomb.npz")
''', E("ValueError", "unexpected arrays", max_mib=300)),
    C("memory", "zip bomb under an expected name", '''
meta = with_meta(saved_arrays(), layer_sizes=[20000, 20000, 2], optimizer=None)["meta"]
with zipfile.ZipFile(TMP / "bomb.npz", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    z.writestr("meta.npy", (lambda b: (np.lib.format.write_array(b, meta), b.getvalue())[1])(io.BytesIO()))
    with z.open("w0.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (20000, 20000)})
        for _ in range(1600): f.write(bytes(1 << 20))
fm.MLP.load(TMP / "bomb.npz")
''', E("ValueError", "would inflate .* zip bomb", max_mib=300), timeout=300),
    C("memory", "a million layers in the metadata", '''
a = saved_arrays()
fm.MLP.load(write_zip(TMP / "deep.npz", with_meta(a, layer_sizes=[2] * 1_000_000).items()))
''', E("ValueError", "metadata entry holds", max_mib=400, max_s=60)),
    C("memory", "50000 layers in the metadata, 2 weight members", '''
a = saved_arrays()
fm.MLP.load(write_zip(TMP / "deep.npz", with_meta(a, layer_sizes=[2] * 50_000).items()))
''', E("ValueError", "describes 49999 layers but the file holds 2", max_mib=300)),
    C("memory", ".npy header promising 2^40 x 2^10 floats", '''
a = saved_arrays()
with zipfile.ZipFile(TMP / "h.npz", "w") as z:
    for k, v in a.items():
        if k != "w0":
            with z.open(k + ".npy", "w") as f: np.lib.format.write_array(f, v)
    with z.open("w0.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (2**40, 2**10)})
fm.MLP.load(TMP / "h.npz")
''', E("ValueError", "promises", max_mib=300)),
    C("memory", "MLP([8192, 8192, 10]) peak", '''
base = hwm()
fm.MLP([8192, 8192, 10], backend="numpy")
peak = hwm()
assert (peak - base) < 1.5 * 8192 * 8192 * 4, (peak - base) / (8192 * 8192 * 4)
''', E()),
    C("memory", "huge zero-stride X to predict", '''
big = np.broadcast_to(np.float32(1), (2**40, 6))
small().predict(big)
''', E("MemoryError|ValueError", "", max_mib=400)),

    # --- silent wrong results ------------------------------------------------------------------
    C("silent-wrong", "two threads fit one model", '''
m = small(); Xb = np.repeat(X, 40, axis=0); yb = np.repeat(y, 40)
errors = []
def go():
    try: m.fit(Xb, yb, epochs=2, batch_size=8)
    except RuntimeError as e: errors.append(str(e))
ts = [threading.Thread(target=go) for _ in range(2)]
[t.start() for t in ts]; [t.join() for t in ts]
steps = 2 * len(Xb) // 8
assert m.network.step in (steps, 2 * steps) and (m.network.step == 2 * steps) == (not errors), (m.network.step, errors)
assert all("already running" in e for e in errors)
''', E()),
    C("silent-wrong", "cross-entropy with 2-D targets that are no distribution", '''
small().fit(X, np.stack([y * 3.0, 1.0 - y], axis=1).astype(np.float32), epochs=1)
''', E("ValueError", "rows must sum to 1")),
    C("silent-wrong", "binary cross-entropy targets 7 and -3", '''
fm.MLP([6, 1], loss="binary_cross_entropy").fit(X, np.where(y, 7.0, -3.0), epochs=1)
''', E("ValueError", r"must lie in \[0, 1\]")),
    C("silent-wrong", "learning rate that rounds to 0 in float32", '''
small().fit(X, y, epochs=1, optimizer=fm.optim.SGD(lr=1e-46))
''', E(warns="lr=1e-46 rounds to 0 in float32")),
    C("silent-wrong", "corrupt MNIST label file (label 255)", '''
import gzip, struct
def idx(a): return bytes([0, 0, 8, a.ndim]) + b"".join(struct.pack(">I", s) for s in a.shape) + a.astype(">u1").tobytes()
for split in ("train", "t10k"):
    (TMP / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(np.zeros((3, 28, 28), np.uint8))))
    (TMP / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx(np.array([1, 255, 3]))))
fm.datasets.load_mnist(TMP)
''', E("ValueError", "holds label 255")),
    C("silent-wrong", "zip with two members of the same name", '''
a = saved_arrays()
fm.MLP.load(write_zip(TMP / "dup.npz", list(a.items()) + [("w0", a["w0"] * 2)]))
''', E("ValueError", "appears twice")),
    C("silent-wrong", "optimizer kernel: NaN lr (cpp)", '''
p = np.ones(4, np.float32)
get_backend("cpp").adam_step(p, np.ones(4, np.float32), np.zeros(4, np.float32), np.zeros(4, np.float32), step=1, lr=float("nan"))
''', E("ValueError", "lr must be finite")),
    C("silent-wrong", "optimizer kernel: step=0 (numpy)", '''
p = np.ones(4, np.float32)
get_backend("numpy").adam_step(p, np.ones(4, np.float32), np.zeros(4, np.float32), np.zeros(4, np.float32), step=0, lr=0.1)
''', E("ValueError", "step must be >= 1")),
    C("silent-wrong", "optimizer kernel: step=0 (numba)", '''
p = np.ones(4, np.float32)
get_backend("numba").adam_step(p, np.ones(4, np.float32), np.zeros(4, np.float32), np.zeros(4, np.float32), step=0, lr=0.1)
''', E("ValueError", "step must be >= 1")),
    C("silent-wrong", "optimizer kernel: aliased slots (cpp)", '''
mv = np.zeros(4, np.float32)
get_backend("cpp").adam_step(np.ones(4, np.float32), np.ones(4, np.float32), mv, mv, step=1, lr=0.1)
''', E("ValueError", "m and v share memory")),
    C("silent-wrong", "optimizer kernel: velocity overlapping param (numba)", '''
buf = np.zeros(8, np.float32)
get_backend("numba").sgd_step(buf[:4], np.ones(4, np.float32), buf[2:6], lr=0.1, momentum=0.9)
''', E("ValueError", "share memory")),
    C("silent-wrong", "one-class y for cross-entropy is allowed (documented)", '''
m = small(); m.fit(X, np.zeros(len(X), int), epochs=30, optimizer=fm.optim.Adam(lr=1e-2))
assert (m.predict(X) == 0).all()
''', E()),
    C("silent-wrong", "sample weights all zero", '''
small().fit(X, y, epochs=1, sample_weight=np.zeros(len(X)))
''', E("FloatingPointError|ValueError", "")),
    C("silent-wrong", "validation data with NaN", '''
small().fit(X, y, epochs=1, validation_data=(np.full_like(X, np.nan), y))
''', E("ValueError", "X_val contains NaN")),

    C("silent-wrong", "a callback that raises releases the fit guard", '''
class Boom:
    def on_epoch_end(self, epoch, logs, model):
        raise KeyError("callback failed")
m = small()
try:
    m.fit(X, y, epochs=2, callbacks=[Boom()])
except KeyError:
    pass
m.fit(X, y, epochs=1)
''', E()),
    C("silent-wrong", "copies of one model fit in two threads", '''
import copy
a = trained(); b = copy.deepcopy(a)
errors = []
def go(m):
    try: m.fit(X, y, epochs=3, batch_size=8)
    except Exception as e: errors.append(repr(e))
ts = [threading.Thread(target=go, args=(m,)) for m in (a, b)]
[t.start() for t in ts]; [t.join() for t in ts]
assert not errors, errors
assert all(np.array_equal(p, q) for p, q in zip(a.weights, b.weights))  # same start, same data
''', E()),
    C("silent-wrong", "read-only memmap X trains", '''
np.save(TMP / "x.npy", X); Xm = np.load(TMP / "x.npy", mmap_mode="r")
small().fit(Xm, y, epochs=1)
''', E()),
    C("crash-hang", "OMP_NUM_THREADS=1000 warns", "fm.get_num_threads()",
      E(warns="OMP_NUM_THREADS=1000 is more than 4x"), env={"OMP_NUM_THREADS": "1000"}),

    # --- saving --------------------------------------------------------------------------------
    C("saving", "load in a loop while another thread saves", '''
m = fm.MLP([300, 300, 2], backend="numpy"); m.save(TMP / "m.npz")
stop = threading.Event()
def saver():
    while not stop.is_set(): m.save(TMP / "m.npz")
t = threading.Thread(target=saver); t.start()
try:
    for _ in range(30): fm.MLP.load(TMP / "m.npz", backend="numpy")
finally:
    stop.set(); t.join()
''', E()),
    C("saving", "Ctrl-C (SIGINT) during save", '''
code = f"import fastmlp as fm\\nm = fm.MLP([1500, 1500, 2], backend='numpy')\\nm.save({str(TMP / 'big.npz')!r})\\nprint('go', flush=True)\\nwhile True: m.save({str(TMP / 'big.npz')!r})"
for i in range(5):
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert p.stdout.readline().strip() == "go"
    time.sleep(0.1 + 0.05 * i); p.send_signal(signal.SIGINT); p.wait(timeout=60); p.stdout.close()
    fm.MLP.load(TMP / "big.npz")
assert not [x for x in TMP.iterdir() if x.name.endswith(".tmp")]
''', E()),
    C("saving", "20 SIGTERMs during save leave no temporary file", '''
code = f"import fastmlp as fm\\nm = fm.MLP([1500, 1500, 2], backend='numpy')\\nprint('go', flush=True)\\nwhile True: m.save({str(TMP / 'big.npz')!r})"
for i in range(20):
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "go"
    time.sleep(0.05 + 0.02 * i); p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=60) == -signal.SIGTERM
    p.stdout.close()
left = [x.name for x in TMP.iterdir() if x.name.endswith(".tmp")]
assert not left, left
if (TMP / "big.npz").exists():
    fm.MLP.load(TMP / "big.npz")
''', E(), timeout=400),
    C("saving", "SIGKILL during save: the next save cleans up", '''
code = f"import fastmlp as fm\\nm = fm.MLP([1500, 1500, 2], backend='numpy')\\nprint('go', flush=True)\\nwhile True: m.save({str(TMP / 'big.npz')!r})"
p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
assert p.stdout.readline().strip() == "go"; time.sleep(0.3); p.kill(); p.wait(); p.stdout.close()
trained().save(TMP / "big.npz")
left = [x.name for x in TMP.iterdir() if x.name.endswith(".tmp")]
assert not left, left
''', E()),
    C("saving", "new file mode follows the umask", '''
os.umask(0o022); trained().save(TMP / "m.npz")
assert oct(os.stat(TMP / "m.npz").st_mode & 0o777) == "0o644", oct(os.stat(TMP / "m.npz").st_mode)
''', E()),
    C("saving", "re-saving keeps a 0664 file's mode", '''
m = trained(); m.save(TMP / "m.npz"); os.chmod(TMP / "m.npz", 0o664); m.save(TMP / "m.npz")
assert oct(os.stat(TMP / "m.npz").st_mode & 0o777) == "0o664"
''', E()),
    C("saving", "saving to a symlink replaces its target", '''
(TMP / "real.npz").write_bytes(b""); (TMP / "link.npz").symlink_to(TMP / "real.npz")
trained().save(TMP / "link.npz")
assert (TMP / "link.npz").is_symlink() and (TMP / "real.npz").stat().st_size > 0
''', E()),
    C("saving", "safetensors save to a missing folder", '''
from fastmlp.safetensors_io import save_safetensors
save_safetensors(trained(), TMP / "no" / "m.safetensors")
''', E("FileNotFoundError", "does not exist")),
    C("saving", "save into a read-only folder", '''
(TMP / "ro").mkdir(); os.chmod(TMP / "ro", 0o555)
try:
    if os.geteuid() == 0:
        raise PermissionError("folder 'ro' is not writable (skipped check: running as root)")
    trained().save(TMP / "ro" / "m.npz")
finally:
    os.chmod(TMP / "ro", 0o755)
''', E("PermissionError", "not writable")),
    C("saving", "two threads saving to one path", '''
m = fm.MLP([300, 300, 2], backend="numpy")
ts = [threading.Thread(target=lambda: [m.save(TMP / "m.npz") for _ in range(10)]) for _ in range(2)]
[t.start() for t in ts]; [t.join() for t in ts]
fm.MLP.load(TMP / "m.npz")
assert not [x for x in TMP.iterdir() if x.name.endswith(".tmp")]
''', E()),
    C("saving", "path with a NUL byte", 'trained().save("bad\\0name.npz")', E("ValueError", "null")),

    # --- messages and types --------------------------------------------------------------------
    C("messages", "set_num_threads(2**40)", "fm.set_num_threads(2**40)", E("ValueError", "num_threads must be <= 1024")),
    C("messages", "dropout_mask step 2**64 (cpp)", '''
get_backend("cpp").dropout_mask(1, 2**64, 0, 0.5, (2, 2), np.float32)
''', E("ValueError", "step must be <=")),
    C("messages", "scheduled_lr t 2**64 (cpp)", '''
get_backend("cpp").scheduled_lr(0.1, fm.optim.CosineSchedule(10).config, 2**64)
''', E("ValueError", "t must be <=")),
    C("messages", "StepSchedule(2**63) in fit", '''
small().fit(X, y, epochs=1, schedule=fm.optim.StepSchedule(2**63))
''', E("ValueError", "step_size must be <=")),
    C("messages", "network step set to 2**63", '''
m = trained(); m.network.step = 2**63; m.fit(X, y, epochs=1)
''', E("ValueError", "step must be <=")),
    C("messages", "MLP seed 2**64", "fm.MLP([2, 2], seed=2**64)", E("ValueError", "seed must be <=")),
    C("messages", "NaN label for cross-entropy", '''
small().fit(X, np.where(y == 1, np.nan, 0.0), epochs=1)
''', E("ValueError", "y contains NaN")),
    C("messages", "big-endian float32 to a kernel", '''
get_backend("cpp").matmul(np.ones((2, 2), ">f4"), np.ones((2, 2), np.float32))
''', E("TypeError", "got float32 in big-endian")),
    C("messages", "big-endian arrays in a model file load", '''
a = saved_arrays()
be = {k: (v.astype(v.dtype.newbyteorder(">")) if v.dtype.kind == "f" else v) for k, v in a.items()}
m = fm.MLP.load(write_zip(TMP / "be.npz", be.items()))
assert np.array_equal(m.weights[0], a["w0"])
''', E()),
    C("messages", "finite 1e300 into a float32 model", '''
Xb = X.astype(np.float64); Xb[0, 0] = 1e300; small().fit(Xb, y, epochs=1)
''', E("ValueError", "beyond float32's range")),
    C("messages", "load a directory", '(TMP / "d.npz").mkdir(); fm.MLP.load(TMP / "d.npz")', E("IsADirectoryError", "is a folder")),
    C("messages", "load a missing file", 'fm.MLP.load(TMP / "none.npz")', E("FileNotFoundError", "no model file")),
    C("messages", "load an empty file", '(TMP / "e.npz").write_bytes(b""); fm.MLP.load(TMP / "e.npz")', E("ValueError", "e.npz")),
    C("messages", "load a symlink loop", '''
(TMP / "a.npz").symlink_to(TMP / "b.npz"); (TMP / "b.npz").symlink_to(TMP / "a.npz"); fm.MLP.load(TMP / "a.npz")
''', E("FileNotFoundError|ValueError|OSError", "a.npz")),
    C("messages", "class_weight NaN in a model file", '''
a = saved_arrays(); a["class_weight"] = np.array([1.0, np.nan])
fm.MLP.load(write_zip(TMP / "cw.npz", a.items()))
''', E("ValueError", "class_weight' holds NaN")),
    C("messages", "optimizer in metadata but its slots missing", '''
a = {k: v for k, v in saved_arrays().items() if not k.startswith(("m", "v")) or k == "meta"}
fm.MLP.load(write_zip(TMP / "ns.npz", a.items()))
''', E("ValueError", "missing array 'm0'")),
    C("messages", "metadata l2 NaN (JSON NaN literal)", '''
a = saved_arrays()
fm.MLP.load(write_zip(TMP / "n.npz", with_meta(a, l2=float("nan")).items()))
''', E("ValueError", "l2")),
    C("messages", "metadata layer_sizes with a float", '''
a = saved_arrays()
fm.MLP.load(write_zip(TMP / "f.npz", with_meta(a, layer_sizes=[6, 8.5, 2]).items()))
''', E("ValueError", "layer_sizes must be a list")),
    C("messages", "metadata dtype float16 with matching arrays", '''
a = saved_arrays()
h = {k: (v.astype(np.float16) if k[0] in "wbmv" and k != "meta" else v) for k, v in a.items()}
fm.MLP.load(write_zip(TMP / "h.npz", with_meta(h, dtype="float16").items()))
''', E("ValueError", "float16|dtype")),
    C("messages", "workspace MemoryError names its size", '''
resource.setrlimit(resource.RLIMIT_AS, (2 << 30,) * 2)
Xw = np.ones((60000, 6), np.float32)
fm.MLP([6, 4096, 2], backend="numpy").fit(Xw, np.zeros(60000, int), epochs=1, batch_size=60000)
''', E("MemoryError", r"batch_size=60000 needs about [\d,]+ bytes")),
    C("messages", "predict with the wrong feature count", "trained().predict(np.ones((3, 5)))", E("ValueError", "5 features, the model takes 6")),
    C("messages", "unknown FASTMLP_ISA", 'get_backend("cpp").matmul(np.ones((2, 2)), np.ones((2, 2)))',
      E("ValueError|RuntimeError", "FASTMLP_ISA|isa"), env={"FASTMLP_ISA": "sse9"}),

    # --- command line --------------------------------------------------------------------------
    C("cli", "--threads 5000", 'cli("train", "--dataset", "xor", "--threads", "5000")', E("SystemExit", "exit 2")),
    C("cli", "a diverging --lr", 'cli("train", "--dataset", "xor", "--lr", "1e30", "--quiet")', E("SystemExit", "training diverged")),
    C("cli", "--seed 1e23", 'cli("train", "--dataset", "xor", "--seed", "1e23")', E("SystemExit", "exit 2")),
    C("cli", "--seed 10**23", 'cli("train", "--dataset", "xor", "--seed", str(10**23))', E("SystemExit", "exit 2")),
    C("cli", "an enormous --layers", 'cli("train", "--dataset", "xor", "--layers", "100000000,100000000")', E("SystemExit", "do not fit in memory")),
    C("cli", "test images of another size", '''
import gzip, struct
def idx(a): return bytes([0, 0, 8, a.ndim]) + b"".join(struct.pack(">I", s) for s in a.shape) + a.astype(">u1").tobytes()
for split, side in (("train", 28), ("t10k", 20)):
    (TMP / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(np.zeros((3, side, side), np.uint8))))
    (TMP / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx(np.array([1, 2, 3]))))
cli("train", "--dataset", "mnist", "--data-dir", str(TMP), "--epochs", "1", "--quiet")
''', E("SystemExit", "400 features per row, the training data 784")),
    C("cli", "--save into a folder path", '(TMP / "d.npz").mkdir(); cli("train", "--dataset", "xor", "--save", str(TMP / "d.npz"))',
      E("SystemExit", "is a folder")),
    C("cli", "--data-dir that is a file", '''
(TMP / "f").write_text("x"); cli("train", "--dataset", "mnist", "--data-dir", str(TMP / "f"))
''', E("SystemExit", "not a directory")),
    C("cli", "--batch-size 10**20 trains", 'cli("train", "--dataset", "xor", "--batch-size", str(10**20), "--epochs", "2", "--quiet")',
      E()),

    # --- numerics ------------------------------------------------------------------------------
    C("numerics", "float64 X with float32 model, 1e30 values", '''
Xb = X.astype(np.float64) * 1e30; small().fit(Xb, y, epochs=1)
''', E("FloatingPointError|ValueError", "", warns="badly scaled|values up to")),
    C("numerics", "clip_norm keeps lr=10 finite", '''
m = small(); m.fit(X, y, epochs=3, optimizer=fm.optim.SGD(lr=10.0, clip_norm=1.0))
assert all(np.isfinite(a).all() for a in m.weights)
''', E()),
    C("numerics", "fit again after a rolled-back divergence", '''
m = small()
try:
    m.fit(X, y, epochs=1, optimizer=fm.optim.Adam(lr=1e38))
except FloatingPointError:
    pass
h = m.fit(X, y, epochs=3, optimizer=fm.optim.Adam(lr=1e-2))
assert np.isfinite(h.loss).all() and h.loss[-1] < h.loss[0]
''', E()),
    C("numerics", "epochs=0 changes nothing", '''
m = small(); w = m.weights[0].copy(); m.fit(X, y, epochs=0); assert np.array_equal(w, m.weights[0])
''', E()),
]
