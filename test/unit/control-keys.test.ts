/**
 * The control table's key builder: every record kind of a tenant in its partition under its own
 * sort-key prefix, the rate counters in partitions of their own, and the sparse index keys.
 */
import { describe, expect, it } from 'vitest';
import { CONTROL_TABLE } from '#shared/config/tables.ts';
import {
  ACTION_REGISTRY_PARTITION_PREFIX,
  API_KEY_SK_PREFIX,
  activeRetentionJobKey,
  actorEmailKey,
  actorEmailSortKeyPrefix,
  apiKeyKey,
  CONTROL_KEY_ATTRIBUTES,
  DIGEST_SK_LAST,
  digestKey,
  digestSortKey,
  emailQuotaKey,
  exportKey,
  KIND_REGISTRY_ATTRIBUTES,
  KIND_REGISTRY_KIND_PREFIX,
  KIND_REGISTRY_PARTITION_PREFIX,
  kindIdOfSortKey,
  kindRegistryKey,
  kindRegistryPartition,
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

describe('kind registry keys', () => {
  it("keeps a tenant's kinds and actor emails in one partition of their own, under KINDS#", () => {
    expect(kindRegistryKey(TENANT, 'AbC-_12345678901')).toEqual({
      pk: `KINDS#${TENANT}`,
      sk: 'KIND#AbC-_12345678901',
    });
    expect(actorEmailKey(TENANT, 'ada@example.com', 'user 42')).toEqual({
      pk: `KINDS#${TENANT}`,
      sk: 'EMAIL#ada@example.com user 42',
    });
    expect(kindRegistryPartition(TENANT).startsWith(KIND_REGISTRY_PARTITION_PREFIX)).toBe(true);
    // One IAM LeadingKeys pattern per registry: neither prefix starts the other.
    for (const other of [ACTION_REGISTRY_PARTITION_PREFIX, RATE_COUNTER_PARTITION_PREFIX, 'TENANT#']) {
      expect(
        other.startsWith(KIND_REGISTRY_PARTITION_PREFIX) || KIND_REGISTRY_PARTITION_PREFIX.startsWith(other),
      ).toBe(false);
    }
  });

  it("ends an email's range at a space, so another email that starts with it is not read", () => {
    const prefix = actorEmailSortKeyPrefix('ada@x.io');
    expect(actorEmailKey(TENANT, 'ada@x.io', 'u1').sk.startsWith(prefix)).toBe(true);
    expect(actorEmailKey(TENANT, 'ada@x.io.uk', 'u1').sk.startsWith(prefix)).toBe(false);
    expect(actorEmailKey(TENANT, 'ada@x.io', 'u1').sk.startsWith(KIND_REGISTRY_KIND_PREFIX)).toBe(false);
  });

  it('reads the kind id back from a kind sort key, and no id from an email sort key', () => {
    expect(kindIdOfSortKey(kindRegistryKey(TENANT, 'k1').sk)).toBe('k1');
    expect(kindIdOfSortKey(actorEmailKey(TENANT, 'ada@x.io', 'u1').sk)).toBeNull();
  });

  it('names the attributes a registration may write: the keys, the kind fields, count, first seen, the email pair', () => {
    expect([...KIND_REGISTRY_ATTRIBUTES].sort()).toEqual(
      [
        'pk',
        'sk',
        'action',
        'area',
        'method',
        'target_type',
        'status',
        'actor_type',
        'count',
        'first_seen_at',
        'email',
        'actor_id',
      ].sort(),
    );
  });
});
