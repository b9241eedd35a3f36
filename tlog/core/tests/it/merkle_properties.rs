//! Property tests: the tile-based proofs against a deliberately naive transcription of RFC 6962
//! section 2.1 (recursive MTH, PATH and SUBPROOF over the whole leaf list), and tamper tests.

use proptest::prelude::*;
use tlog::merkle::{self, Hash};
use tlog::tile::{TileSet, TreeEdge};

fn leaf(i: u64) -> Hash {
    merkle::leaf_hash(&i.to_le_bytes())
}

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

thread_local! {
    /// Memo for `naive_mth`, keyed by the slice's address and length, so that checking every
    /// proof of every size stays fast. The recursion itself is RFC 6962's, unchanged.
    static MTH_MEMO: std::cell::RefCell<std::collections::HashMap<(usize, usize), Hash>> =
        Default::default();
}

/// RFC 6962 MTH, recursively, over leaf hashes.
fn naive_mth(d: &[Hash]) -> Hash {
    let key = (d.as_ptr() as usize, d.len());
    if let Some(h) = MTH_MEMO.with(|m| m.borrow().get(&key).copied()) {
        return h;
    }
    let h = match d.len() {
        0 => merkle::empty_root(),
        1 => d[0],
        n => {
            let k = k_of(n);
            merkle::node_hash(&naive_mth(&d[..k]), &naive_mth(&d[k..]))
        }
    };
    MTH_MEMO.with(|m| m.borrow_mut().insert(key, h));
    h
}

/// The left/right pattern of an inclusion proof: for each element, whether the sibling lies to
/// the right of the leaf. Two (index, size) claims with the same pattern run the RFC 9162
/// verifier identically, so a proof cannot tell them apart: the signed checkpoint binds the size.
fn inclusion_shape(m: u64, n: u64) -> Vec<bool> {
    merkle::inclusion_proof_ranges(m, n)
        .map(|r| r.iter().map(|x| x.start > m).collect())
        .unwrap_or_default()
}

/// RFC 6962 PATH(m, D[n]).
fn naive_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = naive_path(m, &d[..k]);
        p.push(naive_mth(&d[k..]));
        p
    } else {
        let mut p = naive_path(m - k, &d[k..]);
        p.push(naive_mth(&d[..k]));
        p
    }
}

/// RFC 6962 SUBPROOF(m, D[n], b).
fn naive_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![naive_mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = naive_subproof(m, &d[..k], b);
        p.push(naive_mth(&d[k..]));
        p
    } else {
        let mut p = naive_subproof(m - k, &d[k..], false);
        p.push(naive_mth(&d[..k]));
        p
    }
}

/// A log of `n` leaves built the way the sequencer builds it: edge appends written into tiles.
fn tiled_log(n: u64) -> (Vec<Hash>, TileSet, Hash) {
    // A new leaf list may reuse the address of a freed one: start the memo afresh.
    MTH_MEMO.with(|m| m.borrow_mut().clear());
    let leaves: Vec<Hash> = (0..n).map(leaf).collect();
    let mut tiles = TileSet::new();
    let mut edge = TreeEdge::empty();
    for chunk in leaves.chunks(97) {
        let a = edge.append(chunk);
        for (id, h) in a.tiles {
            tiles.insert(id, h);
        }
        edge = a.edge;
    }
    let root = edge.root();
    (leaves, tiles, root)
}

#[test]
fn every_proof_for_every_size_up_to_300_matches_the_naive_rfc() {
    let (all, tiles, _) = tiled_log(300);
    for n in 1..=300u64 {
        let d = &all[..n as usize];
        let root = naive_mth(d);
        assert_eq!(merkle::root(n, &tiles).unwrap(), root, "root of {n}");
        for m in 0..n {
            let proof = merkle::inclusion_proof(m, n, &tiles).unwrap();
            assert_eq!(proof, naive_path(m as usize, d), "PATH({m}, {n})");
            merkle::verify_inclusion(&d[m as usize], m, n, &proof, &root).unwrap();
        }
        for old in 1..=n {
            let proof = merkle::consistency_proof(old, n, &tiles).unwrap();
            assert_eq!(
                proof,
                naive_subproof(old as usize, d, true),
                "PROOF({old}, {n})"
            );
            let old_root = naive_mth(&d[..old as usize]);
            merkle::verify_consistency(old, n, &proof, &old_root, &root).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_large_trees_match_the_naive_rfc(n in 301u64..40_000, a in any::<u64>(), b in any::<u64>()) {
        let (leaves, tiles, root) = tiled_log(n);
        prop_assert_eq!(root, naive_mth(&leaves));
        let m = a % n;
        let proof = merkle::inclusion_proof(m, n, &tiles).unwrap();
        prop_assert_eq!(&proof, &naive_path(m as usize, &leaves));
        prop_assert!(merkle::verify_inclusion(&leaves[m as usize], m, n, &proof, &root).is_ok());
        let old = 1 + b % n;
        let proof = merkle::consistency_proof(old, n, &tiles).unwrap();
        prop_assert_eq!(&proof, &naive_subproof(old as usize, &leaves, true));
        let old_root = naive_mth(&leaves[..old as usize]);
        prop_assert!(merkle::verify_consistency(old, n, &proof, &old_root, &root).is_ok());
    }

    /// Any single flipped bit in the leaf, any proof element or the root, and any other index or
    /// size, makes an inclusion proof fail.
    #[test]
    fn tampered_inclusion_proofs_fail(n in 2u64..2000, a in any::<u64>(), bit in 0usize..256, other in any::<u64>()) {
        let (leaves, tiles, root) = tiled_log(n);
        let m = a % n;
        let leaf = leaves[m as usize];
        let proof = merkle::inclusion_proof(m, n, &tiles).unwrap();
        let flip = |h: &Hash| { let mut h = *h; h[bit / 8] ^= 1 << (bit % 8); h };
        prop_assert!(merkle::verify_inclusion(&flip(&leaf), m, n, &proof, &root).is_err());
        prop_assert!(merkle::verify_inclusion(&leaf, m, n, &proof, &flip(&root)).is_err());
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i] = flip(&p[i]);
            prop_assert!(merkle::verify_inclusion(&leaf, m, n, &p, &root).is_err());
        }
        // A flipped bit in the index or the size fails, unless the tampered claim has exactly
        // the same left/right pattern (then no proof can tell them apart; see inclusion_shape).
        let flipped_index = m ^ (1 << (other % 12));
        let shape_same = inclusion_shape(flipped_index, n) == inclusion_shape(m, n);
        prop_assert_eq!(merkle::verify_inclusion(&leaf, flipped_index, n, &proof, &root).is_ok(), shape_same && flipped_index < n);
        let flipped_size = n ^ (1 << (other % 12));
        let shape_same = inclusion_shape(m, flipped_size) == inclusion_shape(m, n);
        prop_assert_eq!(merkle::verify_inclusion(&leaf, m, flipped_size, &proof, &root).is_ok(), shape_same && m < flipped_size);
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(merkle::verify_inclusion(&leaf, m, n, &longer, &root).is_err());
        if !proof.is_empty() {
            prop_assert!(merkle::verify_inclusion(&leaf, m, n, &proof[..proof.len() - 1], &root).is_err());
        }
    }

    /// Likewise for consistency proofs: flipped bits in either root or any element, other sizes.
    #[test]
    fn tampered_consistency_proofs_fail(n in 2u64..2000, a in any::<u64>(), bit in 0usize..256, other in any::<u64>()) {
        let (leaves, tiles, root) = tiled_log(n);
        let old = 1 + a % (n - 1);
        let old_root = naive_mth(&leaves[..old as usize]);
        let proof = merkle::consistency_proof(old, n, &tiles).unwrap();
        let flip = |h: &Hash| { let mut h = *h; h[bit / 8] ^= 1 << (bit % 8); h };
        prop_assert!(merkle::verify_consistency(old, n, &proof, &old_root, &root).is_ok());
        prop_assert!(merkle::verify_consistency(old, n, &proof, &flip(&old_root), &root).is_err());
        prop_assert!(merkle::verify_consistency(old, n, &proof, &old_root, &flip(&root)).is_err());
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i] = flip(&p[i]);
            prop_assert!(merkle::verify_consistency(old, n, &p, &old_root, &root).is_err());
        }
        // Tampered sizes: a proof of another length for the claimed sizes always fails. (Sizes
        // whose proofs have the same shape cannot be told apart by any proof; the signed
        // checkpoints bind them.)
        let flipped_old = old ^ (1 << (other % 12));
        if merkle::consistency_proof_ranges(flipped_old, n).map(|r| r.len()).ok() != Some(proof.len()) {
            prop_assert!(merkle::verify_consistency(flipped_old, n, &proof, &old_root, &root).is_err());
        }
        let flipped_new = n ^ (1 << (other % 12));
        if merkle::consistency_proof_ranges(old, flipped_new).map(|r| r.len()).ok() != Some(proof.len()) {
            prop_assert!(merkle::verify_consistency(old, flipped_new, &proof, &old_root, &root).is_err());
        }
    }
}
