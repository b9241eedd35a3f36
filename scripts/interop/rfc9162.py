"""RFC 9162 (RFC 6962's Merkle tree) for the Python checks: leaf and node hashes, the Merkle
Tree Hash, and the verification of inclusion and consistency proofs, written from the RFC
(sections 2.1.1, 2.1.3.2 and 2.1.4.2), independently of the project's Rust code."""

import hashlib


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(leaf_input: bytes) -> bytes:
    return sha256(b"\x00" + leaf_input)


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def mth(hashes: list[bytes]) -> bytes:
    """The Merkle Tree Hash over leaf hashes, naively recursive (for checks, not for speed)."""
    n = len(hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(hashes[:k]), mth(hashes[k:]))


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """Section 2.1.3.2: whether `path` leads from leaf hash `leaf` at `index` to `root`."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]) -> bool:
    """Section 2.1.4.2: whether `path` proves the tree of `first` leaves a prefix of the tree of
    `second`. Equal sizes need an empty proof and equal roots; an empty tree is a prefix of any."""
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    if first > second or not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
