/**
 * Port: the tenant's kind registry — every event kind (shared/domain/kinds.ts) and every
 * (actor email, actor id) pair its stored events have, with approximate per-kind counts. The
 * query planner reads it to fan a kind-field filter out over exactly the `byKind` partitions that
 * can hold matches, to resolve an `actor_email` filter to `byActor` partitions, and to estimate
 * how selective a kind filter is. Completeness is what the reads rely on: an entry is registered
 * *before* the first event that needs it is stored (withKindRegistry, shared/usecases/kinds.ts),
 * so the registry may name a kind no event has (a failed append), never the reverse.
 * Implemented by DynamoKindRegistry (shared/adapters/kind-registry.ts) and, for unit tests, by
 * test/unit/fakes/kinds.ts.
 */
import type { EventKind, RegisteredKind } from '../../domain/kinds.ts';

export interface KindCount {
  id: string;
  kind: EventKind;
  /** Events of this kind to add to its count (0: register only). */
  count: number;
}

export interface ActorEmail {
  /** Lower-cased, as filters compare it. */
  email: string;
  actorId: string;
}

export interface KindRegistry {
  /**
   * Registers kinds (creating each with `firstSeenAt` if new) and adds their counts, and registers
   * actor emails. Resolves only when every entry is stored; rejects otherwise (the caller then
   * stores no event).
   */
  register(
    tenantId: string,
    entries: { kinds: readonly KindCount[]; emails: readonly ActorEmail[] },
    firstSeenAt: string,
  ): Promise<void>;
  /** Every kind of the tenant, with its count, and what reading them cost (read units). */
  kinds(tenantId: string): Promise<{ kinds: RegisteredKind[]; readUnits: number }>;
  /**
   * The actor ids seen with an email (lower-cased), at most `limit`; `more` when there are others;
   * and what the read cost (read units, where the store bills reads).
   */
  actorsWithEmail(
    tenantId: string,
    email: string,
    limit: number,
  ): Promise<{ ids: string[]; more: boolean; readUnits?: number }>;
}
