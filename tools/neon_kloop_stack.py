"""Stack loads and stores inside the k loops of the NEON micro-kernels (tools/check_arm.sh).

Reads `aarch64-linux-gnu-objdump -d --no-show-raw-insn ukernel_neon.cpp.o` on stdin. A k loop
is a backward branch to an address at most 400 instructions above, with 8 or more fmla and no
fmul or ret in between (the C update after the loop multiplies by alpha). The accumulators
and the A and B values belong in vector registers: a vector register loaded from or stored to
[sp] in such a loop is a spill, and fails the check. Reloads of general registers (the row
pointers of an A read in place at the matrix edge) are counted, not failed. Prints one line per
kernel; exits 1 on a vector spill or when no k loop is found.

Usage: objdump ... | python3 tools/neon_kloop_stack.py
"""

import re
import sys

FUNC = re.compile(r"^[0-9a-f]+ <(_ZN7fastmlp4neon\d+(\w+?)E\w*)>:$")
INSN = re.compile(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$")
BRANCH = re.compile(r"^(b|b\.\w+|cbz|cbnz|tbz|tbnz)$")
TARGET = re.compile(r"\b([0-9a-f]+) <")


def k_loops(insns):
    """(fmla count, [sp] instructions) of every k loop in one function's instructions."""
    index = {addr: i for i, (addr, _, _) in enumerate(insns)}
    for i, (addr, op, args) in enumerate(insns):
        target = TARGET.search(args) if BRANCH.match(op) else None
        if not target or int(target.group(1), 16) not in index:
            continue
        start = index[int(target.group(1), 16)]
        if not 0 < i - start <= 400:
            continue
        body = insns[start:i + 1]
        ops = [o for _, o, _ in body]
        fmla = ops.count("fmla")
        if fmla < 8 or "fmul" in ops or "ret" in ops:
            continue
        yield fmla, [f"{o} {a}" for _, o, a in body if "[sp" in a]


def is_vector(access):
    """Whether a stack load/store moves a vector register (q, d, s, h, b or v), not x/w."""
    return re.match(r"\S+ \[?([qdshbv])\d", access) is not None


def main():
    funcs, name = {}, None
    for line in sys.stdin:
        m = FUNC.match(line.rstrip())
        if m:
            name = m.group(2)
            funcs[name] = []
            continue
        m = INSN.match(line)
        if m and name and not m.group(2).startswith("."):
            funcs[name].append((int(m.group(1), 16), m.group(2), m.group(3)))
    bad = not funcs
    for name, insns in sorted(funcs.items()):
        loops = list(k_loops(insns))
        if not name.endswith(("gemm_8x8", "gemm_8x4")):
            continue
        stack = [s for _, acc in loops for s in acc]
        spills = [s for s in stack if is_vector(s)]
        print(f"   {name}: {len(loops)} k loops, {sum(f for f, _ in loops)} fmla, "
              f"{len(spills)} vector stack loads/stores, {len(stack) - len(spills)} general")
        for s in spills[:8]:
            print(f"      {s}")
        bad |= not loops or bool(spills)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
