"""Atomic file replacement that loses nothing and leaves nothing behind.

`write_atomically` writes a temporary file beside the target, flushes it to disk and renames it
over the target, so the previous file survives any failure. Beyond that:

- a symlink is followed: its target is replaced, the link stays a link;
- the new file gets the old file's permission bits, or 0666 less the umask for a new file
  (mkstemp's 0600 would silently hide a shared model from its group);
- SIGTERM / SIGHUP (how schedulers and containers stop a job) arriving mid-write delete the
  temporary file before the process dies of the same signal, as Ctrl-C does;
- temporary files of earlier writers that died by SIGKILL (which nothing can catch) are removed
  by the next write to the same target: their names carry the writer's process id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
import threading
from pathlib import Path

_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


class _Terminated(BaseException):
    """Raised inside the write by a termination signal; re-delivered once the temp file is gone."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def check_target(path: Path, suffix: str, name: str = "path") -> Path:
    """The file a save to ``path`` will write (a symlink's target), after checking what can be
    checked before any work: the suffix, that the folder exists and is writable, that the path is
    not a folder. ValueError / FileNotFoundError / PermissionError naming the path."""
    path = Path(path)
    if path.suffix != suffix:
        raise ValueError(f"{name} must end in {suffix}, got {str(path)!r}")
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"{name} {str(path)!r}: folder {str(folder)!r} does not exist")
    if target.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a folder, not a file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"{name} {str(path)!r}: folder {str(folder)!r} is not writable")
    return target


def _umask() -> int:
    try:  # Linux: read it without the os.umask set-and-restore race with other threads
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _mode_for(target: Path) -> int:
    try:
        st = os.stat(target)
    except OSError:
        return 0o666 & ~_umask()
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else 0o666 & ~_umask()


def _remove_orphans(folder: Path, name: str) -> None:
    """Delete `.NAME.PID.*.tmp` files whose writer process no longer exists."""
    if os.name != "posix":  # os.kill(pid, 0) probes a process only on POSIX (Windows kills it)
        return
    prefix = f".{name}."
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(folder / entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


@contextlib.contextmanager
def _termination_raises():
    """While inside, SIGTERM/SIGHUP raise _Terminated (main thread, default handlers only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum in _SIGNALS:
        if signal.getsignal(signum) is signal.SIG_DFL:
            def handler(sig, frame):
                raise _Terminated(sig)
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def _signals_deferred():
    """Ctrl-C, SIGTERM and SIGHUP arriving inside the block take effect as it ends: between
    creating the temporary file and holding its name, an exception would orphan the file."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = {signum: signal.signal(signum, lambda sig, frame: pending.append(sig))
                for signum in (signal.SIGINT, *_SIGNALS)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        for signum in pending[:1]:
            signal.raise_signal(signum)  # to the handler now restored: KeyboardInterrupt, ...


def write_atomically(path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path`` (a symlink's target), flush it to
    disk, give it the right permission bits, then rename it over the target."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent if str(target.parent) else Path(".")
    _remove_orphans(folder, target.name)
    mode = _mode_for(target)
    tmp = f = None
    try:
        with _termination_raises():
            with _signals_deferred():
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                                           dir=folder)
                f = os.fdopen(fd, "wb")
            with f:
                write(f)
                f.flush()
                if hasattr(os, "fchmod"):  # POSIX; elsewhere mkstemp's mode stays
                    os.fchmod(f.fileno(), mode)
                os.fsync(f.fileno())
            os.replace(tmp, target)
            tmp = None
    except _Terminated as exc:
        _discard(tmp, f)
        signal.signal(exc.signum, signal.SIG_DFL)
        os.kill(os.getpid(), exc.signum)  # die of the signal, as the sender expects
        raise SystemExit(128 + exc.signum) from None  # not reached unless the signal is blocked
    except BaseException:
        # KeyboardInterrupt included: drop the partial file, the old one is untouched
        _discard(tmp, f)
        raise
    _fsync_folder(folder)


def _discard(tmp, f=None) -> None:
    if f is not None:
        with contextlib.suppress(OSError):
            f.close()
    if tmp is not None:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (a power cut after a save keeps the new file)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
