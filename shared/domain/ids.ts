/**
 * Server-generated identifiers. Event ids are ULIDs (time-sortable); tenants and keys carry a
 * readable prefix. None of them contain `.` or `#`, which the key and token formats rely on.
 * Ids the service derives for its own events (so a retried job writes its event once) live in a
 * namespace of their own, `tk_…`, that client ids may not use: no client can claim one first.
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
export const newStreamId = (): string => `str_${ulid().toLowerCase()}`;
export const newAlertId = (): string => `alr_${ulid().toLowerCase()}`;

/** Prefix of the ids the service derives for its own events; the event schema refuses it from clients. */
export const SERVICE_EVENT_ID_PREFIX = 'tk_';

export const isServiceEventId = (id: string): boolean => id.startsWith(SERVICE_EVENT_ID_PREFIX);

/**
 * A deterministic id for an event the service writes itself, e.g.
 * `serviceEventId('audit-export', exportId)` → `tk_audit-export-exp_…`. The same parts always
 * give the same id, and no client-sent id can be equal to it.
 */
export const serviceEventId = (...parts: [string, ...string[]]): string =>
  `${SERVICE_EVENT_ID_PREFIX}${parts.join('-')}`;
