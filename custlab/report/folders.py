"""Output folders that are either complete or absent: staging, a lock, an atomic swap, failed runs set aside.

A run writes into a hidden staging folder beside its target
(``.<name>.partial-<pid>-<random>``) and moves it into place only when it
succeeded; the folder it replaces is removed afterwards. A failed run's
staging folder becomes ``failed-<timestamp>-<name>`` (the partly executed
notebook and ``error.txt``, nothing that looks like a report), and a
staging folder left by a killed run is set aside the same way by the next
run. A lock file (``.<name>.lock``, holding the pid) makes a second run into
the same folder refuse, or wait when asked to.

Every path is checked to stay inside the output root, so a data file named
``..`` cannot make a run write elsewhere.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import time
import uuid
from pathlib import Path

from custlab.exceptions import CustlabError

__all__ = ["FileLock", "OutputFolder", "RunLocked", "inside", "os_error_reason", "writable_folder"]


class RunLocked(CustlabError):
    """Another run holds the lock of the output folder."""


def inside(root: str | Path, path: str | Path) -> Path:
    """``path`` resolved, if it lies inside ``root``; a clear error otherwise.

    >>> inside("/tmp/reports", "/tmp/reports/shop/2024-11").as_posix()
    '/tmp/reports/shop/2024-11'
    >>> inside("/tmp/reports", "/tmp/reports/../etc")
    Traceback (most recent call last):
    ...
    custlab.exceptions.CustlabError: Refusing to write /tmp/etc: it is outside the output folder /tmp/reports.
    """
    root_resolved, resolved = Path(root).resolve(), Path(path).resolve()
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise CustlabError(f"Refusing to write {resolved}: it is outside the output folder {root_resolved}.")
    return resolved


def os_error_reason(err: OSError) -> str:
    """The reason of an OSError in words, saying when the disk is full or the folder read-only."""
    reason = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{reason} (the disk is full)"
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{reason} (the folder is read-only or not yours)"
    return reason


def writable_folder(path: str | Path) -> Path:
    """Create ``path`` if needed and check it can be written; one clear error naming it otherwise."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CustlabError(f"Cannot create the output folder {path}: {os_error_reason(err)}. Choose another --out.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CustlabError(f"The output folder {path} is not writable. Choose another --out.")
    return path


def _stamp(when: float | None = None) -> str:
    return dt.datetime.fromtimestamp(time.time() if when is None else when).strftime("%Y%m%d-%H%M%S")


class FileLock:
    """An exclusive lock on a file: flock on POSIX, msvcrt on Windows; released when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.name == "posix":
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:  # pragma: no cover
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing releases flock
            self.fd = None


class OutputFolder:
    """The folder ``target`` (inside ``root``), written through a staging folder and swapped in on success.

    Use as a context manager::

        with OutputFolder(root / "shop" / "2024-11" / "en", root=root) as out:
            write(out.staging)       # the run writes here
            out.commit()             # replaces target; without it the staging folder is set aside

    Parameters
    ----------
    target
        The folder the run produces.
    root
        The output root (``--out``); ``target`` must lie inside it.
    wait
        Seconds to wait for another run's lock before refusing (0: refuse at once).
    """

    def __init__(self, target: str | Path, *, root: str | Path | None = None, wait: float = 0.0) -> None:
        root = Path(root) if root is not None else Path(target).parent
        self.root = writable_folder(root)
        self.target = inside(self.root, target)
        self.parent = writable_folder(self.target.parent)
        self.name = self.target.name
        self.wait = wait
        self.staging: Path | None = None
        self.failed: Path | None = None
        self.committed = False
        self._lock = FileLock(self.parent / f".{self.name}.lock")

    # -- lock ---------------------------------------------------------------------------------------------
    def _acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        while not self._lock.try_acquire():
            if time.monotonic() >= deadline:
                raise RunLocked(
                    f"Another custlab run (pid {self._lock.holder()}) is writing {self.target}; "
                    "wait for it to finish, or choose another --out."
                )
            time.sleep(0.2)

    def __enter__(self) -> OutputFolder:
        try:
            self._acquire()
        except OSError as err:
            raise CustlabError(f"Cannot lock {self.parent}: {os_error_reason(err)}. Choose another --out.") from None
        try:
            self._set_aside_stale()
            self.staging = self.parent / f".{self.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:6]}"
            self.staging.mkdir()
        except OSError as err:
            self._lock.release()
            raise CustlabError(f"Cannot write in {self.parent}: {os_error_reason(err)}. Free some space or choose another --out.") from None
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            if not self.committed and self.staging is not None and self.staging.exists():
                if self.failed is None:
                    reason = "interrupted" if kind in (KeyboardInterrupt, SystemExit) else (
                        f"{kind.__name__}: {error}" if kind else "the run did not finish")
                    self.fail(reason)
        finally:
            self._lock.release()

    # -- outcomes -----------------------------------------------------------------------------------------
    def commit(self) -> Path:
        """Move the staging folder into place (the previous folder, if any, is removed); return ``target``."""
        if self.staging is None:
            raise CustlabError("OutputFolder.commit() outside its with-block.")
        old = None
        try:
            if self.target.exists():
                old = self.parent / f".{self.name}.replaced-{os.getpid()}-{uuid.uuid4().hex[:6]}"
                os.rename(self.target, old)
            os.rename(self.staging, self.target)
        except OSError as err:
            if old is not None and not self.target.exists():
                os.rename(old, self.target)  # put the previous report back
            raise CustlabError(f"Cannot move the new report into {self.target}: {os_error_reason(err)}.") from None
        self.committed = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.target

    def fail(self, reason: str, notebook: dict | None = None) -> Path | None:
        """Set the staging folder aside as ``failed-<timestamp>-<name>`` with the partial notebook and ``error.txt``.

        Anything else the run wrote (a partial HTML, some exports) is removed,
        so nothing in the failed folder looks like a finished report.
        Returns the failed folder, or None when even that could not be written
        (a full disk): then the staging folder is removed.
        """
        from custlab.report.notebooks import write_notebook

        if self.staging is None or not self.staging.exists():
            return None
        try:
            for entry in self.staging.iterdir():
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            if notebook is not None:
                write_notebook(notebook, self.staging / f"{notebook.get('metadata', {}).get('custlab', {}).get('name', 'notebook')}.ipynb")
            (self.staging / "error.txt").write_text(reason.rstrip() + "\n", encoding="utf-8")
            failed = self.parent / f"failed-{_stamp()}-{self.name}"
            if failed.exists():
                failed = failed.with_name(f"{failed.name}-{uuid.uuid4().hex[:4]}")
            os.rename(self.staging, failed)
        except OSError:
            shutil.rmtree(self.staging, ignore_errors=True)
            return None
        self.failed = failed
        return failed

    def _set_aside_stale(self) -> None:
        """Staging folders of runs killed before they cleaned up become ``failed-...-killed`` folders.

        Only called while holding the lock, so no live run owns them. What a
        killed run half wrote is removed; a notebook it saved is kept.
        """
        for stale in self.parent.glob(f".{self.name}.partial-*"):
            for entry in stale.iterdir():
                if entry.suffix != ".ipynb":
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            (stale / "error.txt").write_text("the run was killed before it finished\n", encoding="utf-8")
            os.rename(stale, self.parent / f"failed-{_stamp(stale.stat().st_mtime)}-{self.name}-killed")
        for old in self.parent.glob(f".{self.name}.replaced-*"):
            shutil.rmtree(old, ignore_errors=True)
