/**
 * RFC 6962 (Certificate Transparency) Merkle trees, as in RFC 9162 §2.1: a leaf hash is
 * SHA-256(0x00 ‖ data), an interior node SHA-256(0x01 ‖ left ‖ right), and a tree of n leaves
 * splits at the largest power of two below n. The root of the empty tree is SHA-256(""). Pure and
 * iterative (no recursion depth, no copies of the leaf list): the sealer, the API's proofs, the
 * integrity scan and the offline verifier all use this one implementation.
 */
import { createHash } from 'node:crypto';

export type Hash = Buffer;

const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

export const leafHash = (data: Uint8Array): Hash => createHash('sha256').update(LEAF).update(data).digest();

export const nodeHash = (left: Uint8Array, right: Uint8Array): Hash =>
  createHash('sha256').update(NODE).update(left).update(right).digest();

export const EMPTY_ROOT: Hash = createHash('sha256').digest();

/**
 * The root over leaf hashes, level by level: pairing from the left and promoting a last odd node
 * unchanged gives exactly RFC 6962's split at the largest power of two.
 */
export const merkleRoot = (leaves: readonly Hash[]): Hash => {
  if (leaves.length === 0) return EMPTY_ROOT;
  let level: Hash[] = [...leaves];
  while (level.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i] as Hash, level[i + 1] as Hash));
    if (level.length % 2 === 1) next.push(level[level.length - 1] as Hash);
    level = next;
  }
  return level[0] as Hash;
};

/** RFC 6962 PATH(m, D[n]): the sibling hashes from leaf `index` up to the root, bottom first. */
export const inclusionProof = (leaves: readonly Hash[], index: number): Hash[] => {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length)
    throw new RangeError('leaf index out of range');
  const path: Hash[] = [];
  let level: Hash[] = [...leaves];
  let position = index;
  while (level.length > 1) {
    const sibling = position ^ 1;
    // A last odd node has no sibling at this level: it is promoted, and adds nothing to the path.
    if (sibling < level.length) path.push(level[sibling] as Hash);
    const next: Hash[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i] as Hash, level[i + 1] as Hash));
    if (level.length % 2 === 1) next.push(level[level.length - 1] as Hash);
    level = next;
    position >>= 1;
  }
  return path;
};

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or null when the proof cannot belong
 * to a tree of `size` leaves at `index` (wrong length). Compare the result with a signed root.
 */
export const rootFromInclusionProof = (
  leaf: Hash,
  index: number,
  size: number,
  proof: readonly Hash[],
): Hash | null => {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? r : null;
};

export const verifyInclusion = (
  leaf: Hash,
  index: number,
  size: number,
  proof: readonly Hash[],
  root: Hash,
): boolean => {
  const computed = rootFromInclusionProof(leaf, index, size, proof);
  return computed?.equals(root) ?? false;
};
