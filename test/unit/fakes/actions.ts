/**
 * The action registry in memory, honouring ActionRegistry's contract as DynamoActionRegistry does:
 * the first registration of an entry stands, and a list reads exactly one partition — the tenant's
 * or one team's — in action order, by prefix. `failNext` makes registrations fail (a throttled
 * table); `writes` and `reads` count what a use case costs it.
 */
import type { ActionPage, ActionRegistry, RegisteredAction } from '#shared/usecases/ports/actions.ts';

export class MemoryActionRegistry implements ActionRegistry {
  /** First-seen time by partition, then action. */
  private readonly partitions = new Map<string, Map<string, string>>();
  writes = 0;
  reads = 0;
  failNext = 0;

  private static partition(tenantId: string, teamId: string | null): string {
    return JSON.stringify([tenantId, teamId]);
  }

  async register(entry: RegisteredAction, seenAt: string): Promise<void> {
    this.writes += 1;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    }
    const key = MemoryActionRegistry.partition(entry.tenantId, entry.teamId);
    const actions = this.partitions.get(key) ?? new Map<string, string>();
    if (!actions.has(entry.action)) actions.set(entry.action, seenAt);
    this.partitions.set(key, actions);
  }

  async list(tenantId: string, teamId: string | null, prefix: string, limit: number): Promise<ActionPage> {
    this.reads += 1;
    const actions = [...(this.partitions.get(MemoryActionRegistry.partition(tenantId, teamId))?.keys() ?? [])]
      .filter((action) => action.startsWith(prefix))
      .sort();
    return { actions: actions.slice(0, limit), more: actions.length > limit };
  }

  /** When an action was first registered in a partition (undefined: never). */
  firstSeen(tenantId: string, teamId: string | null, action: string): string | undefined {
    return this.partitions.get(MemoryActionRegistry.partition(tenantId, teamId))?.get(action);
  }
}
