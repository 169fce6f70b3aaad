import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  merkleRoot,
  rootFromInclusionProof,
  verifyInclusion,
} from '#shared/domain/merkle.ts';

const hex = (b: Buffer) => b.toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

// RFC 6962 test vectors (Certificate Transparency's reference tree of 8 leaves).
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
]
  .map(unhex)
  .map(leafHash);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** (leaf index, tree size, audit path) from the same reference (1-based indexes there). */
const INCLUSION: Array<[number, number, string[]]> = [
  [0, 1, []],
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];

describe('RFC 6962 Merkle tree', () => {
  it('hashes the empty tree as SHA-256 of nothing', () => {
    expect(hex(EMPTY_ROOT)).toBe(ROOTS[0]);
    expect(hex(merkleRoot([]))).toBe(ROOTS[0]);
  });

  it('matches the reference root for every size 1..8', () => {
    for (let n = 1; n <= 8; n++) expect(hex(merkleRoot(LEAVES.slice(0, n))), `size ${n}`).toBe(ROOTS[n]);
  });

  it('produces the reference audit paths, and they verify', () => {
    for (const [index, size, path] of INCLUSION) {
      const leaves = LEAVES.slice(0, size);
      expect(inclusionProof(leaves, index).map(hex), `${index}/${size}`).toEqual(path);
      expect(
        verifyInclusion(LEAVES[index] as Buffer, index, size, path.map(unhex), unhex(ROOTS[size] as string)),
      ).toBe(true);
    }
  });

  it('verifies every leaf of every tree size up to 70, and only at its own index', () => {
    const leaves = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from([i, i * 7])));
    for (let size = 1; size <= leaves.length; size++) {
      const tree = leaves.slice(0, size);
      const root = merkleRoot(tree);
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(tree, index);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)));
        expect(verifyInclusion(tree[index] as Buffer, index, size, proof, root)).toBe(true);
        if (size > 1) {
          expect(verifyInclusion(tree[index] as Buffer, (index + 1) % size, size, proof, root)).toBe(false);
        }
      }
    }
  });

  it('rejects malformed proofs instead of throwing', () => {
    const root = merkleRoot(LEAVES);
    const proof = inclusionProof(LEAVES, 3);
    expect(rootFromInclusionProof(LEAVES[3] as Buffer, 3, 8, proof.slice(0, 2))).toBeNull();
    expect(rootFromInclusionProof(LEAVES[3] as Buffer, 3, 8, [...proof, proof[0] as Buffer])).toBeNull();
    expect(verifyInclusion(LEAVES[3] as Buffer, 8, 8, proof, root)).toBe(false);
    expect(verifyInclusion(LEAVES[3] as Buffer, -1, 8, proof, root)).toBe(false);
    expect(() => inclusionProof(LEAVES, 8)).toThrow(RangeError);
  });

  it('detects any tampering: a changed, removed, added or moved leaf changes the root', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.constantFrom('edit', 'remove', 'insert', 'swap'),
        (data, seed, kind) => {
          const leaves = data.map((d) => leafHash(d));
          const root = merkleRoot(leaves);
          const i = seed % leaves.length;
          const tampered = [...leaves];
          if (kind === 'edit')
            tampered[i] = leafHash(Buffer.concat([data[i] as Uint8Array, Buffer.from([1])]));
          if (kind === 'remove') tampered.splice(i, 1);
          if (kind === 'insert') tampered.splice(i, 0, leafHash(Buffer.from('forged')));
          if (kind === 'swap') {
            const j = (i + 1) % leaves.length;
            if ((leaves[i] as Buffer).equals(leaves[j] as Buffer)) return; // swapping equal leaves changes nothing
            [tampered[i], tampered[j]] = [tampered[j] as Buffer, tampered[i] as Buffer];
          }
          expect(merkleRoot(tampered).equals(root)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
