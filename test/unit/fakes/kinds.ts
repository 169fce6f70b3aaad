/**
 * The kind registry in memory, honouring KindRegistry's contract as DynamoKindRegistry does: a
 * kind's first-seen time is its first registration's and its count grows by what each
 * registration adds; an email pair is stored once; a registration stores all of its entries or, when
 * it fails, none (Dynamo may store some: callers must not rely on either). `failNext` makes
 * registrations fail (a throttled table); `registrations` records every call, in order.
 */
import type { RegisteredKind } from '#shared/domain/kinds.ts';
import type { ActorEmail, KindCount, KindRegistry } from '#shared/usecases/ports/kinds.ts';

interface StoredKind extends RegisteredKind {
  firstSeenAt: string;
}

export class MemoryKindRegistry implements KindRegistry {
  private readonly kindsByTenant = new Map<string, Map<string, StoredKind>>();
  /** (email, actor id) pairs by tenant, keyed by both. */
  private readonly emailsByTenant = new Map<string, Map<string, ActorEmail>>();
  readonly registrations: {
    tenantId: string;
    kinds: KindCount[];
    emails: ActorEmail[];
    firstSeenAt: string;
  }[] = [];
  reads = 0;
  failNext = 0;

  async register(
    tenantId: string,
    entries: { kinds: readonly KindCount[]; emails: readonly ActorEmail[] },
    firstSeenAt: string,
  ): Promise<void> {
    this.registrations.push({
      tenantId,
      kinds: [...entries.kinds],
      emails: [...entries.emails],
      firstSeenAt,
    });
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    }
    const kinds = this.kindsByTenant.get(tenantId) ?? new Map<string, StoredKind>();
    for (const { id, kind, count } of entries.kinds) {
      const stored = kinds.get(id);
      if (stored === undefined) kinds.set(id, { id, kind: { ...kind }, count, firstSeenAt });
      else stored.count += count;
    }
    this.kindsByTenant.set(tenantId, kinds);
    const emails = this.emailsByTenant.get(tenantId) ?? new Map<string, ActorEmail>();
    for (const pair of entries.emails) emails.set(JSON.stringify([pair.email, pair.actorId]), { ...pair });
    this.emailsByTenant.set(tenantId, emails);
  }

  async kinds(tenantId: string): Promise<{ kinds: RegisteredKind[]; readUnits: number }> {
    this.reads += 1;
    const kinds = [...(this.kindsByTenant.get(tenantId)?.values() ?? [])].map(({ id, kind, count }) => ({
      id,
      kind: { ...kind },
      count,
    }));
    return { kinds, readUnits: 0 };
  }

  async actorsWithEmail(
    tenantId: string,
    email: string,
    limit: number,
  ): Promise<{ ids: string[]; more: boolean }> {
    this.reads += 1;
    const ids = [...(this.emailsByTenant.get(tenantId)?.values() ?? [])]
      .filter((pair) => pair.email === email)
      .map((pair) => pair.actorId)
      .sort();
    return { ids: ids.slice(0, limit), more: ids.length > limit };
  }

  /** When a kind was first registered (undefined: never). */
  firstSeen(tenantId: string, id: string): string | undefined {
    return this.kindsByTenant.get(tenantId)?.get(id)?.firstSeenAt;
  }
}
