/**
 * Production wiring of the integrity functions (sealer, scan, API), built once per container.
 */
import { ENV } from '../config/env.ts';
import { ARCHIVE_BUCKET } from '../config/storage.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { S3DynamoDigestStore } from './digest-store.ts';
import { s3Client } from './object-store.ts';
import { DynamoSealStore } from './seal-store.ts';

export const sealStore = () => new DynamoSealStore(dynamoDocumentClient(), requiredEnv(ENV.eventsTable));

/** Digests in DynamoDB and, with their leaves, in the archive bucket. */
export const digestStore = () =>
  new S3DynamoDigestStore(
    dynamoDocumentClient(),
    requiredEnv(ENV.controlTable),
    s3Client(),
    requiredEnv(ARCHIVE_BUCKET.envVar),
  );
