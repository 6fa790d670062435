"""Files that hold personal data or the audit trail, private to the daemon's user.

The state folder (outbox, audit log, evidence snapshots) is ``0700``; every file written in it,
and the JSON-lines events file, is ``0600`` whatever the process's umask. A state folder that
other users can read or enter is refused at start: its alerts, snapshots and audit trail would
be theirs to read.

Example:
    >>> import tempfile, stat
    >>> root = Path(tempfile.mkdtemp())
    >>> folder = private_dir(root / "state")
    >>> oct(stat.S_IMODE(folder.stat().st_mode))
    '0o700'
    >>> oct(stat.S_IMODE(private_file(folder / "audit.jsonl").stat().st_mode))
    '0o600'
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["check_private_dir", "make_private", "private_dir", "private_file", "write_private"]

_DIR_MODE = 0o700
_FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and its missing parents as ``0700``; an existing folder is kept as is
    (see :func:`check_private_dir`)."""
    folder = Path(path)
    missing = [p for p in (folder, *folder.parents) if not p.is_dir()]
    for parent in reversed(missing):
        parent.mkdir(mode=_DIR_MODE, exist_ok=True)
        os.chmod(parent, _DIR_MODE)  # mkdir's mode is masked by the umask
    return folder


def check_private_dir(path: str | os.PathLike[str]) -> None:
    """Refuse a folder that users other than its owner can read, write or enter.

    Raises:
        PermissionError: the folder's mode grants anything to the group or others.
    """
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise PermissionError(
            f"{os.fspath(path)} is open to other users (mode {mode:04o}); it holds alerts, "
            f"evidence and the audit log: chmod 700 {os.fspath(path)}"
        )


def make_private(fd: int) -> None:
    """Make the open file ``fd`` ``0600`` if it is a regular file. A device or a pipe given as
    an output (``/dev/null``, ``/dev/stdout``) is not ours: its mode is left alone (made
    ``0600``, ``/dev/null`` would refuse every other user of the machine)."""
    if stat.S_ISREG(os.fstat(fd).st_mode):
        os.fchmod(fd, _FILE_MODE)


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` if missing; make it ``0600`` either way (a regular file: see
    :func:`make_private`). Its folder must exist."""
    target = Path(path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _FILE_MODE)
    try:
        make_private(fd)
    finally:
        os.close(fd)
    return target


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` (replaced if present), ``0600``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
    try:
        make_private(fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
