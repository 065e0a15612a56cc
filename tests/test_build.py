"""The built extension itself: code outside the AVX micro-kernels must run on any x86-64 CPU.

docs/isa.md's ODR rule: an inline function compiled into both a baseline and an AVX
translation unit can leave the linker with the AVX copy, which faults on an older CPU. This
disassembles fastmlp._core and looks for AVX instructions outside the ISA namespaces.
"""

import platform
import re
import shutil
import subprocess

import pytest

_core = pytest.importorskip("fastmlp._core", reason="the C++ extension is not built")
from fastmlp.backends.cpp import available_isas  # noqa: E402

# VMX instructions also start with "v"; they never appear in user code, but name them anyway.
_NOT_AVX = ("verr", "verw", "vmcall", "vmlaunch", "vmresume", "vmxoff", "vmxon", "vmread",
            "vmwrite", "vmptrld", "vmptrst", "vmclear", "vmfunc", "vmrun", "vmload", "vmsave",
            "vmmcall")
# The GEMM micro-kernels (csrc/gemm/ukernel_<isa>.cpp) and the optimizers' vector loops
# (csrc/nn/optim_lanes_<isa>.cpp).
_ISA_NAMESPACES = ("fastmlp::avx2::", "fastmlp::avx512::", "fastmlp::nn::avx2::", "fastmlp::nn::avx512::")


def _avx_uses_by_function(path):
    """{demangled function label: [AVX instructions in it]} for the module at `path`.

    An instruction counts as AVX when it is VEX/EVEX-encoded (AT&T mnemonic starting with "v",
    such as vmovss on xmm: scalar code compiled with -mavx2 is AVX too) or names a ymm, zmm or
    AVX-512 mask (k) register. The module is stripped, so objdump labels code with the exported
    symbols: every fastmlp function (the kernels' static library keeps default visibility),
    including inline functions and templates instantiated in an ISA file, which are exactly
    the ones the linker may pick for baseline callers. A function with internal linkage is
    counted in the exported function before it."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", path], capture_output=True,
                         text=True, check=True).stdout
    label = re.compile(r"^[0-9a-f]+ <(.*)>:$")
    register = re.compile(r"%(?:[yz]mm\d+|k[0-7])\b")
    uses, current = {}, "<before any label>"
    for line in out.splitlines():
        m = label.match(line)
        if m:
            current = m.group(1)
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip().endswith(":"):
            continue
        insn = parts[1].strip()
        mnemonic = insn.split(" ", 1)[0]
        if (mnemonic.startswith("v") and mnemonic not in _NOT_AVX) or register.search(insn):
            uses.setdefault(current, []).append(insn)
    return uses


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is not installed")
@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="the AVX kernels exist on x86-64 only")
def test_baseline_code_has_no_avx():
    """Only the AVX2/AVX-512 namespaces (micro-kernels, optimizer loops) may use AVX: anything else runs on every
    x86-64 CPU (the module must load and run on one without AVX, where these fault)."""
    uses = _avx_uses_by_function(_core.__file__)
    inside = {f for f in uses if any(ns in f for ns in _ISA_NAMESPACES)}
    outside = {f: insns[:3] for f, insns in uses.items() if f not in inside}
    assert not outside, "AVX outside the ISA namespaces (first instructions of each):\n" + "\n".join(
        f"  {f}: {insns}" for f, insns in sorted(outside.items()))
    # The check sees the kernels it exempts, so it would see an AVX instruction elsewhere too.
    if {"avx2", "avx512"} & set(available_isas()):
        assert any("fastmlp::avx512::" in f for f in inside), sorted(uses)
        assert any("fastmlp::avx2::" in f for f in inside), sorted(uses)
        assert any("fastmlp::nn::avx512::" in f for f in inside), sorted(uses)
