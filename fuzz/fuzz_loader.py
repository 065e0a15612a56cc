"""Atheris harness: fastmlp.MLP.load on mutated model files.

The first input byte picks how the rest mutates a valid file (seeds: small saved models with
and without optimizer state, float32 and float64):

  0  raw bytes: the whole .npz as libFuzzer mutates it (zip directory, CRCs, npy headers);
  1  one zip member's bytes replaced or edited, the zip rewritten with valid CRCs, so the
     mutation reaches NumPy's .npy header parser and fastmlp's checks instead of stopping at
     a CRC error;
  2  structure: the JSON metadata edited key by key (fuzzed JSON values, missing keys, huge
     numbers), arrays swapped for ones of another dtype/shape, removed, added, or pickled.

A load must either succeed (and the model then predicts with the right shape) or raise
ValueError / FileNotFoundError naming the file. Any other exception, a crash or a hang is a
finding. Run: tools/fuzz.sh SECONDS (or python fuzz/fuzz_loader.py -max_total_time=S CORPUS).
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import zipfile

import atheris
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from findings import guard  # noqa: E402

import fastmlp as fm  # noqa: E402

TMP = tempfile.mkdtemp(prefix="fastmlp-fuzz-loader-")
PATH = os.path.join(TMP, "model.npz")
ALLOWED = (ValueError, FileNotFoundError)


def seed_files() -> list:
    """Valid model files (bytes): untrained, Adam-trained float32, SGD-momentum float64 with a
    cosine schedule."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    files = []
    models = [fm.MLP([4, 3], backend="numpy")]
    m = fm.MLP([4, 5, 3], backend="numpy")
    m.fit(X, y, epochs=1, batch_size=8)
    models.append(m)
    m = fm.MLP([4, 6, 2], loss="mse", dtype="float64", backend="numpy", activation="tanh")
    m.fit(X.astype(np.float64), rng.standard_normal((16, 2)), epochs=1, batch_size=8,
          optimizer=fm.optim.SGD(lr=0.1, momentum=0.9), schedule="cosine")
    models.append(m)
    for model in models:
        model.save(PATH)
        with open(PATH, "rb") as f:
            files.append(f.read())
    return files


SEEDS = seed_files()


def write_seed_corpus(folder: str) -> None:
    """One input per mode per seed file, so every mode starts from valid files."""
    os.makedirs(folder, exist_ok=True)
    for i, data in enumerate(SEEDS):
        for mode in range(3):
            with open(os.path.join(folder, f"seed-{i}-mode{mode}"), "wb") as f:
                f.write(bytes([mode, i]) + (data if mode == 0 else b""))


def members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def rezip(files: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buf.getvalue()


def fuzz_json_value(fdp, depth=0):
    kind = fdp.ConsumeIntInRange(0, 8 if depth < 2 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return fdp.ConsumeBool()
    if kind == 2:
        return fdp.ConsumeIntInRange(-3, 12)
    if kind == 3:
        return fdp.PickValueInList([2**31, 2**63, -(2**63), 10**30, 0.5, -1.0, 1e308])
    if kind == 4:
        return fdp.ConsumeUnicode(12)
    if kind == 5:
        return fdp.PickValueInList(["sgd", "adam", "relu", "softmax", "float16", "cosine", "mse", ""])
    if kind == 6:
        return [fuzz_json_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]
    if kind == 7:
        return {fdp.PickValueInList(["name", "lr", "step_size", "total_steps", "x"]):
                fuzz_json_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))}
    return float(fdp.ConsumeFloat())


def fuzz_array(fdp):
    dtype = fdp.PickValueInList([np.float32, np.float64, np.float16, np.int64, np.bool_, np.complex64,
                                 object, "U3", ">f4"])
    shape = tuple(fdp.ConsumeIntInRange(0, 6) for _ in range(fdp.ConsumeIntInRange(0, 3)))
    arr = np.zeros(shape, dtype=dtype)
    if arr.dtype.kind == "f" and arr.size and fdp.ConsumeBool():
        arr.flat[0] = fdp.PickValueInList([np.nan, np.inf, 1e30])
    return arr


def structured(fdp, data: bytes) -> bytes:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        action = fdp.ConsumeIntInRange(0, 5)
        if action == 0:  # edit a metadata field
            meta[fdp.PickValueInList(sorted(meta) + ["extra"])] = fuzz_json_value(fdp)
        elif action == 1 and meta:  # drop a metadata field
            meta.pop(fdp.PickValueInList(sorted(meta)))
        elif action == 2:  # swap an array for another dtype/shape
            arrays[fdp.PickValueInList(sorted(arrays))] = fuzz_array(fdp)
        elif action == 3 and len(arrays) > 1:  # drop an array
            arrays.pop(fdp.PickValueInList(sorted(arrays)))
        elif action == 4:  # add an array
            arrays[fdp.PickValueInList(["w9", "m0", "extra", "meta"])] = fuzz_array(fdp)
        else:  # meta becomes something that is not a JSON object string
            arrays["meta"] = np.array(fdp.ConsumeUnicode(40))
    if "meta" in arrays and arrays["meta"].dtype.kind == "U" and arrays["meta"].shape == ():
        if fdp.ConsumeIntInRange(0, 3):
            arrays["meta"] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # allow_pickle defaults to True here: object arrays get pickled
    return buf.getvalue()


def member_edit(fdp, data: bytes) -> bytes:
    files = members(data)
    name = fdp.PickValueInList(sorted(files))
    content = bytearray(files[name])
    if fdp.ConsumeBool():  # overwrite a window (the .npy header lives in the first ~128 bytes)
        start = fdp.ConsumeIntInRange(0, max(len(content) - 1, 0))
        patch = fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 64))
        content[start:start + len(patch)] = patch
    else:  # truncate or replace entirely
        content = content[:fdp.ConsumeIntInRange(0, len(content))] + fdp.ConsumeBytes(32)
    files[name] = bytes(content)
    return rezip(files)


def TestOneInput(data: bytes) -> None:
    if len(data) < 2:
        return
    mode, seed = data[0] % 3, SEEDS[data[1] % len(SEEDS)]
    if mode == 0:
        blob = data[2:]
    else:
        fdp = atheris.FuzzedDataProvider(data[2:])
        blob = member_edit(fdp, seed) if mode == 1 else structured(fdp, seed)
    with open(PATH, "wb") as f:
        f.write(blob)
    try:
        model = fm.MLP.load(PATH, backend="numpy")
    except ALLOWED as exc:
        assert PATH in str(exc) or "model file" in str(exc), f"error does not name the file: {exc!r}"
        return
    x = np.zeros((2, model.layer_sizes[0]), model.dtype)
    out = model.forward(x)
    assert out.shape == (2, model.layer_sizes[-1]), out.shape


def main():
    np.seterr(all="ignore")
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus and os.path.isdir(corpus[0]) and not os.listdir(corpus[0]):
        write_seed_corpus(corpus[0])
    atheris.instrument_all()  # the editable install's finder hides fastmlp from instrument_imports
    atheris.Setup(sys.argv, guard(TestOneInput))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
