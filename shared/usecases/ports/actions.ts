/**
 * Port: the action registry — which actions a tenant's events carry, as a whole and per team, so
 * `GET /v1/actions` answers suggestions without reading the events table. Implemented by
 * DynamoActionRegistry (shared/adapters/action-registry.ts) and, for unit tests, by
 * test/unit/fakes/actions.ts.
 */

/** An action seen in a tenant's events: in the tenant as a whole (`teamId` null), or in one team. */
export interface RegisteredAction {
  tenantId: string;
  teamId: string | null;
  action: string;
}

export interface ActionPage {
  /** Sorted ascending, distinct. */
  actions: string[];
  /** Whether more actions start with the prefix than `limit`. */
  more: boolean;
}

export interface ActionRegistry {
  /**
   * Records the action, unless it is there already (the first record stands; a lost race between
   * two writers is no error). `seenAt`: ISO time of the first event seen with it.
   */
  register(entry: RegisteredAction, seenAt: string): Promise<void>;
  /** Up to `limit` actions of the tenant (`teamId` null) or of one team that start with `prefix`. */
  list(tenantId: string, teamId: string | null, prefix: string, limit: number): Promise<ActionPage>;
}
