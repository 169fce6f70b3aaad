/**
 * Server-generated identifiers. Event ids are ULIDs (time-sortable); tenants and keys carry a
 * readable prefix. None of them contain `.` or `#`, which the key and token formats rely on.
 */
import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

export const newEventId = (nowMs: number = Date.now()): string => ulid(nowMs).toLowerCase();
export const newTenantId = (): string => `tnt_${ulid().toLowerCase()}`;
export const newKeyId = (): string => `key_${ulid().toLowerCase()}`;
export const newSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');
export const newExportId = (): string => `exp_${ulid().toLowerCase()}`;
export const newRetentionJobId = (): string => `rtj_${ulid().toLowerCase()}`;
