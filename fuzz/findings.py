"""Keep a fuzz run going past Python-level findings, recording each distinct one once.

libFuzzer stops at the first uncaught exception. With FASTMLP_FUZZ_FINDINGS=DIR set (as
tools/fuzz.sh does), an exception is instead saved as DIR/<signature>.bin (the input, to replay
with `python fuzz/fuzz_X.py DIR/<signature>.bin` after unsetting the variable) and
DIR/<signature>.txt (the traceback); later inputs failing at the same place are not recorded
again, so one known bug does not hide the next. A hard crash (segfault, abort) still stops the
run, and libFuzzer writes its crash-* file.
"""

from __future__ import annotations

import os
import re
import sys
import traceback


def guard(test_one_input):
    """``test_one_input`` wrapped to record findings, when FASTMLP_FUZZ_FINDINGS is set."""
    folder = os.environ.get("FASTMLP_FUZZ_FINDINGS")
    if not folder:
        return test_one_input
    os.makedirs(folder, exist_ok=True)
    seen = set()

    def wrapped(data: bytes) -> None:
        try:
            test_one_input(data)
        except Exception as exc:  # noqa: BLE001 - every Python exception here is a finding
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{os.path.basename(frame.filename)}-{frame.lineno}"
            signature = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{type(exc).__name__}-{where}")
            if signature in seen:
                return
            seen.add(signature)
            with open(os.path.join(folder, signature + ".bin"), "wb") as f:
                f.write(data)
            with open(os.path.join(folder, signature + ".txt"), "w") as f:
                f.write("".join(traceback.format_exception(exc)))
            print(f"\nFINDING {signature}: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr,
                  flush=True)

    return wrapped
