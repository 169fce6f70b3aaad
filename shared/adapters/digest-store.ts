/**
 * Where digests live: each one as an object in the archive bucket (Object Lock: deleting the
 * table cannot erase them) and as a record in the control table for lookup, next to the tenant's
 * chain state. The object is written first and never replaced (a conditional put); the record and
 * the chain state are then written in one transaction conditioned on the chain not having moved.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { INTEGRITY } from '../config/integrity.ts';
import {
  DIGEST_SK_LAST,
  digestKey,
  digestSortKey,
  tenantKey,
  tenantPartition,
} from '../domain/control-keys.ts';
import { digestHash, type SignedDigest } from '../domain/digest.ts';
import type { SealState } from '../domain/tenant.ts';
import { ChainMovedError, type DigestStore } from '../usecases/ports/integrity.ts';

export const digestObjectKey = (tenantId: string, sequence: number): string =>
  `${INTEGRITY.digestsPrefix}tenant=${tenantId}/${String(sequence).padStart(10, '0')}.json`;

/** The digest's event hashes in leaf order, 32 bytes each: proofs outlive the hot store's events. */
export const leavesObjectKey = (tenantId: string, sequence: number): string =>
  `${INTEGRITY.digestsPrefix}tenant=${tenantId}/${String(sequence).padStart(10, '0')}.leaves`;

const sameContent = (a: SignedDigest, b: SignedDigest): boolean =>
  a.tenant_id === b.tenant_id &&
  a.sequence === b.sequence &&
  a.interval.start === b.interval.start &&
  a.interval.end === b.interval.end &&
  a.event_count === b.event_count &&
  a.merkle_root === b.merkle_root &&
  a.previous_digest_hash === b.previous_digest_hash;

export class S3DynamoDigestStore implements DigestStore {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /** Puts an object once (S3 conditional write); false when one already exists under the key. */
  private async putOnce(key: string, body: string | Buffer, contentType: string): Promise<boolean> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (error) {
      const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
      if (status === 412 || status === 409) return false;
      throw error;
    }
  }

  private async getObject(key: string): Promise<Buffer> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
  }

  async leaves(tenantId: string, sequence: number): Promise<string[]> {
    const bytes = await this.getObject(leavesObjectKey(tenantId, sequence));
    const hashes: string[] = [];
    for (let i = 0; i + 32 <= bytes.length; i += 32) hashes.push(bytes.subarray(i, i + 32).toString('hex'));
    return hashes;
  }

  async save(
    digest: SignedDigest,
    eventHashes: readonly string[],
    previous: SealState | undefined,
  ): Promise<SignedDigest> {
    const leavesKey = leavesObjectKey(digest.tenant_id, digest.sequence);
    const leaves = Buffer.concat(eventHashes.map((hash) => Buffer.from(hash, 'hex')));
    if (!(await this.putOnce(leavesKey, leaves, 'application/octet-stream'))) {
      if (!(await this.getObject(leavesKey)).equals(leaves)) {
        throw new Error(`digest ${digest.sequence} of ${digest.tenant_id} has other leaves stored`);
      }
    }
    const key = digestObjectKey(digest.tenant_id, digest.sequence);
    let stored = digest;
    if (!(await this.putOnce(key, `${JSON.stringify(digest, null, 2)}\n`, 'application/json'))) {
      // A run that died after writing it: that digest (and its signature) wins.
      const existing = JSON.parse((await this.getObject(key)).toString('utf8')) as SignedDigest;
      if (!sameContent(existing, digest)) {
        throw new Error(`digest ${digest.sequence} of ${digest.tenant_id} exists with other content`);
      }
      stored = existing;
    }
    const state: SealState = {
      sequence: stored.sequence,
      end: stored.interval.end,
      digest_hash: digestHash(stored),
    };
    try {
      await this.dynamo.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...digestKey(stored.tenant_id, stored.interval.end),
                  sequence: stored.sequence,
                  digest: stored,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: tenantKey(stored.tenant_id),
                UpdateExpression: 'SET #seal = :seal',
                ConditionExpression:
                  previous === undefined
                    ? 'attribute_exists(pk) AND attribute_not_exists(#seal)'
                    : 'attribute_exists(pk) AND #seal.#sequence = :previous',
                ExpressionAttributeNames: {
                  '#seal': 'seal',
                  ...(previous === undefined ? {} : { '#sequence': 'sequence' }),
                },
                ExpressionAttributeValues: {
                  ':seal': state,
                  ...(previous === undefined ? {} : { ':previous': previous.sequence }),
                },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'TransactionCanceledException')
        throw new ChainMovedError();
      throw error;
    }
    return stored;
  }

  private async query(
    tenantId: string,
    condition: string,
    values: Record<string, string>,
    limit: number,
  ): Promise<SignedDigest[]> {
    const digests: SignedDigest[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.dynamo.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: `pk = :pk AND ${condition}`,
          ExpressionAttributeValues: { ':pk': tenantPartition(tenantId), ...values },
          Limit: limit - digests.length,
          ExclusiveStartKey: start,
        }),
      );
      digests.push(...(out.Items ?? []).map((item) => item.digest as SignedDigest));
      start = out.LastEvaluatedKey;
    } while (start !== undefined && digests.length < limit);
    return digests;
  }

  list(tenantId: string, from: string, to: string, limit: number): Promise<SignedDigest[]> {
    return this.query(
      tenantId,
      'sk BETWEEN :from AND :to',
      { ':from': digestSortKey(from), ':to': digestSortKey(to) },
      limit,
    );
  }

  async covering(tenantId: string, receivedAt: string): Promise<SignedDigest | null> {
    // The first digest ending at or after receivedAt; intervals are contiguous, so it holds it.
    const [digest] = await this.query(
      tenantId,
      'sk BETWEEN :from AND :last',
      { ':from': digestSortKey(receivedAt), ':last': DIGEST_SK_LAST },
      1,
    );
    return digest !== undefined && receivedAt > digest.interval.start ? digest : null;
  }

  after(tenantId: string, after: string, limit: number): Promise<SignedDigest[]> {
    return this.query(
      tenantId,
      'sk BETWEEN :from AND :last',
      { ':from': `${digestSortKey(after)}\u0000`, ':last': DIGEST_SK_LAST },
      limit,
    );
  }
}
