"""The seen-set of an exploration, kept without a Python object per state.

`ExactStore` keeps every state's encoding back to back in one bytearray (the arena) and finds
a state's id through an open-addressing table of ids (an array of machine ints, linear
probing on the encoding's hash). `FingerprintStore` keeps only a 64-bit hash per state, as
TLC does: two states with one hash are taken for one, so a state may be omitted with the
probability `omission_probability` reports; counterexamples are still replayed through the
model, so a reported violation is real either way.

Both stores give ids in insertion order (0, 1, 2, ...), which the explorer uses as node ids.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable

_EMPTY = -1
_FIRST_SIZE = 1 << 12


def _table(size: int) -> array:  # type: ignore[type-arg]
    return array("i", [_EMPTY]) * size


def _rebuilt(size: int, hashes: Iterable[int]) -> array:  # type: ignore[type-arg]
    """A table of `size` slots holding ids 0, 1, ... at the slots their hashes probe to."""
    mask = size - 1
    table = _table(size)
    for ident, value in enumerate(hashes):
        slot = value & mask
        while table[slot] != _EMPTY:
            slot = (slot + 1) & mask
        table[slot] = ident
    return table


class ExactStore:
    """Encoded states, each stored once; `add` gives the id of a new or known state."""

    def __init__(self) -> None:
        self.arena = bytearray()
        self.starts = array("q", [0])  # id -> where its encoding starts; one extra entry: the end
        self.table = _table(_FIRST_SIZE)
        self.mask = _FIRST_SIZE - 1

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, ident: int) -> bytes:
        return bytes(self.arena[self.starts[ident] : self.starts[ident + 1]])

    def add(self, key: bytes, insert: bool = True) -> tuple[int, bool]:
        """(id of `key`, whether it was new); (-1, True) for a new one
        when `insert` is false."""
        table, arena, starts, mask = self.table, self.arena, self.starts, self.mask
        slot = hash(key) & mask
        while True:
            ident = table[slot]
            if ident == _EMPTY:
                break
            if arena[starts[ident] : starts[ident + 1]] == key:
                return ident, False
            slot = (slot + 1) & mask
        if not insert:
            return -1, True
        ident = len(starts) - 1
        table[slot] = ident
        arena += key
        starts.append(len(arena))
        if 2 * ident >= mask:  # keep the table at most half full: short probe runs
            self._grow()
        return ident, True

    def _grow(self) -> None:
        size = 2 * (self.mask + 1)
        self.table = _rebuilt(size, (hash(self[ident]) for ident in range(len(self))))
        self.mask = size - 1

    def nbytes(self) -> int:
        """Memory held: the arena, the starts and the table."""
        return len(self.arena) + self.starts.itemsize * len(self.starts) + self.table.itemsize * len(self.table)


def fingerprint(key: bytes) -> int:
    """A 64-bit hash of an encoding, the same in every process (worker processes agree on it)."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little", signed=True)


class FingerprintStore:
    """64-bit fingerprints of states instead of the states."""

    def __init__(self) -> None:
        self.prints = array("q")  # id -> fingerprint
        self.table = _table(_FIRST_SIZE)
        self.mask = _FIRST_SIZE - 1

    def __len__(self) -> int:
        return len(self.prints)

    def add(self, key: bytes, insert: bool = True) -> tuple[int, bool]:
        """(id of the state with `key`'s fingerprint, whether that fingerprint was new); (-1, True) for a new one
        when `insert` is false."""
        table, prints, mask = self.table, self.prints, self.mask
        value = fingerprint(key)
        slot = value & mask
        while True:
            ident = table[slot]
            if ident == _EMPTY:
                break
            if prints[ident] == value:
                return ident, False
            slot = (slot + 1) & mask
        if not insert:
            return -1, True
        ident = len(prints)
        table[slot] = ident
        prints.append(value)
        if 2 * ident >= mask:
            self._grow()
        return ident, True

    def _grow(self) -> None:
        size = 2 * (self.mask + 1)
        self.table = _rebuilt(size, self.prints)
        self.mask = size - 1

    def nbytes(self) -> int:
        return self.prints.itemsize * len(self.prints) + self.table.itemsize * len(self.table)

    def omission_probability(self, transitions: int) -> float:
        """An upper bound on the chance that a collision hid a state: each of the `transitions`
        lookups can meet one of at most n fingerprints, each equal with probability 2**-64."""
        return min(1.0, transitions * len(self.prints) / 2.0**64)
