"""Paths a user names: a text file to read (or stdin for `-`), a directory to write; each
refused in one line, before any work, when it cannot serve."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from noloss.cli.errors import UsageError


def read_text(path: str) -> str:
    """The UTF-8 text of `path` (`-`: stdin); UsageError names a binary or non-UTF-8 byte offset."""
    name = "stdin" if path == "-" else path
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as error:
        raise UsageError(f"cannot read {name}: {error.strerror or error}") from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise UsageError(f"{name}: a binary file (NUL byte at offset {nul}), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(f"{name}: not UTF-8 text (byte offset {error.start})") from None


def writable_dir(option: str, text: str) -> Path:
    """A directory (made if missing) this process can write; UsageError names the option and path."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {text}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{option} {text}: cannot create it: {error.strerror or error}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {text}: not writable")
    return path


def checked_out_dir(text: str | None) -> Path | None:
    """--out DIR, validated before any work (None when not given) but not made: a run refused
    for another option leaves no empty directory behind. The writer makes it."""
    if text is None:
        return None
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {text}: exists and is not a directory")
    existing = next(parent for parent in (path, *path.absolute().parents) if parent.exists())
    if not existing.is_dir():
        raise UsageError(f"--out {text}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out {text}: {existing} is not writable")
    return path


def clear_pages(folder: Path, suffix: str) -> None:
    """Make `folder` hold no page of an earlier run: remove the files named as pages are
    (`<a>__<b>__<c><suffix>`), so that a page whose violation is gone does not linger, and leave
    every other file alone (the folder may be the user's own)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob(f"*__*__*{suffix}"):
        if path.is_file():
            path.unlink()
