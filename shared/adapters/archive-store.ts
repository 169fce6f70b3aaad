/**
 * S3 access of the archive compactor: listing, reading gzip NDJSON line by line, writing one
 * gzip NDJSON object as a stream (lib-storage's Upload: multipart past 5 MiB, so a large tenant's
 * day never sits in memory), and deleting staged batches.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ArchiveBuckets, LineWriter } from '../usecases/ports/archive.ts';

export class ArchiveStore implements ArchiveBuckets {
  constructor(private readonly s3: S3Client) {}

  async *list(bucket: string, prefix = ''): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const out = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of out.Contents ?? []) if (object.Key !== undefined) yield object.Key;
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** The lines of a gzip object, streamed. */
  async *lines(bucket: string, key: string): AsyncGenerator<string> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = out.Body as Readable | undefined;
    if (body === undefined) return;
    const lines = createInterface({ input: body.pipe(createGunzip()), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) if (line !== '') yield line;
  }

  /** A gzip NDJSON object written line by line, uploaded as it is produced. */
  writer(bucket: string, key: string, metadata: Record<string, string> = {}): LineWriter {
    const gzip = createGzip();
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: bucket, Key: key, Body: gzip, ContentType: 'application/gzip', Metadata: metadata },
      queueSize: 2,
    });
    const done = upload.done();
    // Surfaced by close(); never an unhandled rejection meanwhile.
    done.catch(() => {});
    return {
      write: (line) =>
        new Promise<void>((resolve, reject) => {
          gzip.write(`${line}\n`, (error) => (error ? reject(error) : resolve()));
        }),
      close: async () => {
        gzip.end();
        await done;
      },
    };
  }

  async deleteAll(bucket: string, keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const out = await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
      if ((out.Errors ?? []).length > 0) {
        throw new Error(`could not delete ${out.Errors?.length} staged objects (${out.Errors?.[0]?.Code})`);
      }
    }
  }
}
