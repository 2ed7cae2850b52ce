"""RFC 6962 / RFC 9162 Merkle tree over the audit log: roots, and consistency proofs between two sizes.

Leaf i is the i-th event's chain hash (32 bytes). A checkpoint (size n, root) taken today lets anyone
holding a later checkpoint (size m ≥ n) check, from a short proof, that the later log still starts
with exactly the same n events: nothing older was edited, dropped or reordered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = ["leaf_hash", "node_hash", "root_of_leaves", "merkle_root", "consistency_proof", "verify_consistency",
           "EMPTY_ROOT"]

_sha = hashlib.sha256
EMPTY_ROOT = _sha(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return _sha(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right).digest()


def root_of_leaves(leaves: Sequence[bytes]) -> bytes:
    """The tree hash of already-hashed leaves.

    Bottom-up, pairing neighbours and carrying an odd last node up unchanged: this builds the same
    left-balanced tree as RFC 6962's recursive split at the largest power of two below n.
    """
    level = list(leaves)
    if not level:
        return EMPTY_ROOT
    sha = _sha
    while len(level) > 1:
        nxt = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def merkle_root(data: Iterable[bytes]) -> bytes:
    """MTH(D[n]) of raw leaf data (here: the events' 32-byte chain hashes)."""
    sha = _sha
    return root_of_leaves([sha(b"\x00" + d).digest() for d in data])


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2 for hashed `leaves` (n of them) and m = old_size."""
    n = len(leaves)
    if not 0 < old_size <= n:
        raise ValueError(f"a consistency proof needs 0 < old size ≤ new size, not {old_size} and {n}")

    def subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        size = hi - lo
        if m == size:
            return [] if complete else [root_of_leaves(leaves[lo:hi])]
        k = _split(size)
        if m <= k:
            return subproof(m, lo, lo + k, complete) + [root_of_leaves(leaves[lo + k:hi])]
        return subproof(m - k, lo + k, hi, False) + [root_of_leaves(leaves[lo:lo + k])]

    return subproof(old_size, 0, n, True)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does the tree of `new_size` leaves extend the one of `old_size` leaves?"""
    if old_size < 1 or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
