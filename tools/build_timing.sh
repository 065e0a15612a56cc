#!/usr/bin/env bash
# The README's two commands timed at several commits, each from a fresh clone in a fresh venv with
# ccache off: the first command (build tools, compile, install, fastmlp train) and the test
# extra's install (without running pytest). Wall and CPU (user + sys of every child) seconds;
# CPU time is the steadier figure on a shared machine.
# Usage: bash tools/build_timing.sh REV [REV ...]     e.g. b721919 HEAD b721919 HEAD
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
for rev in "$@"; do
  d=$(mktemp -d)
  git clone -q "$src" "$d/c" && git -C "$d/c" checkout -q "$rev"
  python3 -m venv "$d/venv"
  # shellcheck disable=SC1091
  . "$d/venv/bin/activate"
  pip install -q --upgrade pip >/dev/null
  cd "$d/c" || exit 1
  # the README's commands of that commit, without the venv creation and without pytest
  first=$(grep -m1 -E '^(python3 -m venv .*&& )?pip install' README.md | sed 's/^python3 -m venv .venv && \. \.venv\/bin\/activate && //')
  second=$(grep -m1 -E '^pip install .*\[test\]' README.md | sed 's/ && pytest.*//')
  export CCACHE_DISABLE=1
  t0=$(date +%s.%N)
  /usr/bin/time -o "$d/first.cpu" -f "%U %S" bash -c "$first" > "$d/first.log" 2>&1; rc=$?
  t1=$(date +%s.%N)
  /usr/bin/time -o "$d/second.cpu" -f "%U %S" bash -c "$second --quiet" > "$d/second.log" 2>&1; rc2=$?
  t2=$(date +%s.%N)
  echo "$rev first: $(echo "$t1 - $t0" | bc) s wall, $(awk '{print $1 + $2}' "$d/first.cpu") s CPU (rc $rc);" \
       "test install: $(echo "$t2 - $t1" | bc) s wall, $(awk '{print $1 + $2}' "$d/second.cpu") s CPU (rc $rc2);" \
       "load $(cut -d' ' -f1-3 /proc/loadavg)"
  deactivate
  cd / && rm -rf "$d"
done
