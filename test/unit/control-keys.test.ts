/**
 * The control table's key builder: every record kind of a tenant in its partition under its own
 * sort-key prefix, the rate counters in partitions of their own, and the sparse index keys.
 */
import { describe, expect, it } from 'vitest';
import { CONTROL_TABLE } from '#shared/config/tables.ts';
import {
  API_KEY_SK_PREFIX,
  activeRetentionJobKey,
  apiKeyKey,
  CONTROL_KEY_ATTRIBUTES,
  DIGEST_SK_LAST,
  digestKey,
  digestSortKey,
  emailQuotaKey,
  exportKey,
  RATE_COUNTER_PARTITION_PREFIX,
  rateCounterKey,
  tenantIdOfPartition,
  tenantKey,
  tenantListing,
  tenantPartition,
} from '#shared/domain/control-keys.ts';

const TENANT = 'tnt_01jd0000000000000000000000';

describe('control key builder', () => {
  it("keeps every record of a tenant in the tenant's partition, one sort-key prefix per kind", () => {
    expect(tenantKey(TENANT)).toEqual({ pk: `TENANT#${TENANT}`, sk: 'TENANT' });
    expect(apiKeyKey(TENANT, 'key_1')).toEqual({ pk: `TENANT#${TENANT}`, sk: 'KEY#key_1' });
    expect(exportKey(TENANT, 'exp_1')).toEqual({ pk: `TENANT#${TENANT}`, sk: 'EXPORT#exp_1' });
    expect(digestKey(TENANT, '2026-03-01T00:00:00.000Z')).toEqual({
      pk: `TENANT#${TENANT}`,
      sk: 'DIGEST#2026-03-01T00:00:00.000Z',
    });
    expect(emailQuotaKey(TENANT, '2026-03-01T12')).toEqual({
      pk: `TENANT#${TENANT}`,
      sk: 'EMAIL_QUOTA#2026-03-01T12',
    });
    expect(apiKeyKey(TENANT, 'key_1').sk.startsWith(API_KEY_SK_PREFIX)).toBe(true);
  });

  it('names the attributes as the table definition does', () => {
    expect(Object.keys(tenantKey(TENANT))).toEqual([CONTROL_TABLE.partitionKey, CONTROL_TABLE.sortKey]);
  });

  it('counts requests in a partition per tenant apart from its records', () => {
    expect(rateCounterKey(TENANT, 1_772_366_400)).toEqual({ pk: `RATE#${TENANT}`, sk: 'W#1772366400' });
    expect(rateCounterKey(TENANT, 1).pk).not.toBe(tenantPartition(TENANT));
    expect(rateCounterKey(TENANT, 1).pk.startsWith(RATE_COUNTER_PARTITION_PREFIX)).toBe(true);
    expect(tenantKey(TENANT).pk.startsWith(RATE_COUNTER_PARTITION_PREFIX)).toBe(false);
  });

  it('reads the tenant back from its partition key only', () => {
    expect(tenantIdOfPartition(tenantPartition(TENANT))).toBe(TENANT);
    expect(tenantIdOfPartition(rateCounterKey(TENANT, 1).pk)).toBeNull();
  });

  it('sorts digests by the end of their interval, all below DIGEST_SK_LAST', () => {
    const ends = ['2026-03-01T10:00:00.000Z', '2026-03-01T09:59:59.999Z', '2026-02-28T23:00:00.000Z'];
    const keys = ends.map(digestSortKey);
    expect([...keys].sort()).toEqual([...ends].sort().map(digestSortKey));
    for (const key of keys) expect(key < DIGEST_SK_LAST).toBe(true);
    expect(exportKey(TENANT, 'x').sk < DIGEST_SK_LAST).toBe(false);
  });

  it('lists retention jobs oldest request first, and every tenant in the tenants index', () => {
    const active = CONTROL_TABLE.indexes.activeJobs;
    const older = activeRetentionJobKey('tnt_b', '2026-03-01T00:00:00.000Z');
    const newer = activeRetentionJobKey('tnt_a', '2026-03-02T00:00:00.000Z');
    expect(older[active.partitionKey]).toBe(newer[active.partitionKey]);
    expect(String(older[active.sortKey]) < String(newer[active.sortKey])).toBe(true);
    expect(tenantListing()).toEqual({ [CONTROL_TABLE.indexes.tenants.partitionKey]: 'tenant' });
  });

  it('knows every key attribute, so none is mistaken for a field of a record', () => {
    const item = {
      ...tenantKey(TENANT),
      ...tenantListing(),
      ...activeRetentionJobKey(TENANT, '2026-03-01T00:00:00.000Z'),
    };
    expect(Object.keys(item).sort()).toEqual([...CONTROL_KEY_ATTRIBUTES].sort());
  });
});
