/**
 * Synthetic audit events for the bench: realistic ~1 KB events (actor, target, team, context,
 * request, metadata) drawn from a hot tenant's mix — a few dominant actions (`auth.login` 35 %),
 * Zipf-skewed actors, targets and teams, a little impersonation. Deterministic for a given seed.
 */
import {
  type BuildResult,
  buildStoredEvent,
  type EventInput,
  type StoredEvent,
} from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { intBelow, pick, type Rng, seededRng, weighted, zipf } from './random.ts';

type TargetKind =
  | 'session'
  | 'endpoint'
  | 'document'
  | 'project'
  | 'member'
  | 'invoice'
  | 'subscription'
  | 'secret'
  | 'settings'
  | 'webhook';

interface ActionSpec {
  action: string;
  /** Percent of a hot tenant's day. */
  weight: number;
  area: string;
  method: string;
  target: TargetKind;
  /** Who does it: people, or machines (API keys, services). */
  by: 'user' | 'machine';
}

/** A hot tenant's day: login-heavy, with API traffic and document activity. Weights sum to 100. */
export const ACTION_MIX: readonly ActionSpec[] = [
  { action: 'auth.login', weight: 35, area: 'auth', method: 'POST', target: 'session', by: 'user' },
  { action: 'auth.logout', weight: 10, area: 'auth', method: 'POST', target: 'session', by: 'user' },
  { action: 'auth.mfa_challenged', weight: 3, area: 'auth', method: 'POST', target: 'session', by: 'user' },
  { action: 'api.request', weight: 15, area: 'api', method: 'GET', target: 'endpoint', by: 'machine' },
  {
    action: 'document.viewed',
    weight: 10,
    area: 'documents',
    method: 'read',
    target: 'document',
    by: 'user',
  },
  {
    action: 'document.updated',
    weight: 5,
    area: 'documents',
    method: 'update',
    target: 'document',
    by: 'user',
  },
  {
    action: 'document.shared',
    weight: 2,
    area: 'documents',
    method: 'update',
    target: 'document',
    by: 'user',
  },
  { action: 'project.created', weight: 1, area: 'projects', method: 'create', target: 'project', by: 'user' },
  { action: 'project.updated', weight: 3, area: 'projects', method: 'update', target: 'project', by: 'user' },
  {
    action: 'project.deleted',
    weight: 0.5,
    area: 'projects',
    method: 'delete',
    target: 'project',
    by: 'user',
  },
  { action: 'member.invited', weight: 2, area: 'members', method: 'create', target: 'member', by: 'user' },
  {
    action: 'member.role_changed',
    weight: 1.5,
    area: 'members',
    method: 'update',
    target: 'member',
    by: 'user',
  },
  { action: 'member.removed', weight: 0.5, area: 'members', method: 'delete', target: 'member', by: 'user' },
  {
    action: 'billing.invoice_paid',
    weight: 1,
    area: 'billing',
    method: 'create',
    target: 'invoice',
    by: 'machine',
  },
  {
    action: 'billing.plan_changed',
    weight: 0.5,
    area: 'billing',
    method: 'update',
    target: 'subscription',
    by: 'user',
  },
  { action: 'secret.read', weight: 4, area: 'secrets', method: 'read', target: 'secret', by: 'machine' },
  {
    action: 'secret.key.rotated',
    weight: 1,
    area: 'secrets',
    method: 'update',
    target: 'secret',
    by: 'user',
  },
  {
    action: 'secret.key.created',
    weight: 1,
    area: 'secrets',
    method: 'create',
    target: 'secret',
    by: 'user',
  },
  {
    action: 'settings.updated',
    weight: 2,
    area: 'settings',
    method: 'update',
    target: 'settings',
    by: 'user',
  },
  {
    action: 'webhook.delivered',
    weight: 2,
    area: 'webhooks',
    method: 'POST',
    target: 'webhook',
    by: 'machine',
  },
];

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Katherine',
  'Linus',
  'Margaret',
  'Dennis',
  'Barbara',
  'Ken',
  'Frances',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Johnson',
  'Torvalds',
  'Hamilton',
  'Ritchie',
  'Liskov',
  'Thompson',
];
const ROLES = ['owner', 'admin', 'member', 'member', 'member', 'guest'];
const LOCATIONS = ['Berlin, DE', 'Lisbon, PT', 'Austin, US', 'Toronto, CA', 'Bangalore, IN', 'Sydney, AU'];
const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'acme-sdk-python/3.4.1 (CPython 3.12.7; Linux x86_64)',
  'Go-http-client/2.0 acme-terraform-provider/1.18.0',
];
const ENDPOINTS = [
  'projects.list',
  'projects.get',
  'documents.search',
  'documents.get',
  'members.list',
  'usage.get',
];
const FILLER =
  'Changed through the workspace settings page after review by the security team; see the linked ticket ' +
  'for the approval trail and the previous configuration snapshot kept for the quarterly access review. ';

export interface Population {
  users: number;
  machines: number;
  documents: number;
  projects: number;
  secrets: number;
  teams: number;
}

export const READ_POPULATION: Population = {
  users: 300,
  machines: 6,
  documents: 2_000,
  projects: 60,
  secrets: 40,
  teams: 8,
};

export const HOT_DAY_POPULATION: Population = {
  users: 20_000,
  machines: 40,
  documents: 50_000,
  projects: 500,
  secrets: 300,
  teams: 12,
};

/** Rewrites the n-th generated input before it is built (e.g. to plant a rare combination). */
export type EventTweak = (input: EventInput, n: number) => EventInput;

export interface GeneratorOptions {
  seed: number;
  population: Population;
  /** occurred_at of the n-th event (ms); must be within retention and not in the future. */
  occurredAt: (n: number, rng: Rng) => number;
  /** Client id of the n-th event; undefined = let the service assign a ULID. */
  idOf?: (n: number) => string | undefined;
  /** Approximate JSON size of an event, in bytes (default ~1 KB, varied ±15 %). */
  targetBytes?: number;
}

/** Returns a function producing the n-th event input (call with n = 0, 1, 2, … in order). */
export const eventGenerator = (options: GeneratorOptions): ((n: number) => EventInput) => {
  const rng = seededRng(options.seed);
  const p = options.population;
  const chooseAction = weighted(ACTION_MIX, (a) => a.weight);
  const userRank = zipf(p.users, 1.0);
  const machineRank = zipf(p.machines, 1.2);
  const documentRank = zipf(p.documents, 1.0);
  const projectRank = zipf(p.projects, 1.0);
  const secretRank = zipf(p.secrets, 0.8);
  const teamRank = zipf(p.teams, 1.1);
  const endpointRank = zipf(ENDPOINTS.length, 1.0);
  const target = options.targetBytes ?? 1_000;

  const user = (rank: number) => ({
    id: `user_${rank}`,
    type: 'user' as const,
    name: `${FIRST[rank % FIRST.length]} ${LAST[rank % LAST.length]}`,
    email: `${(FIRST[rank % FIRST.length] ?? 'x').toLowerCase()}.${rank}@acme-corp.example`,
    role: ROLES[rank % ROLES.length] as string,
  });

  return (n) => {
    const spec = chooseAction(rng);
    const impersonated = spec.by === 'user' && rng() < 0.03;
    const actor =
      spec.by === 'machine'
        ? { id: `key_svc_${machineRank(rng)}`, type: 'api_key' as const, name: 'backend-integration' }
        : impersonated
          ? { ...user(userRank(rng)), type: 'support' as const }
          : user(userRank(rng));
    const targetOf = (): EventInput['target'] => {
      switch (spec.target) {
        case 'session':
          return { type: 'session', id: `ses_${options.seed}_${n}` };
        case 'endpoint': {
          const name = ENDPOINTS[endpointRank(rng)] as string;
          return { type: 'endpoint', id: `ep_${name}`, name };
        }
        case 'document': {
          const rank = documentRank(rng);
          return { type: 'document', id: `doc_${rank}`, name: `Quarterly plan ${rank}.docx` };
        }
        case 'project': {
          const rank = projectRank(rng);
          return { type: 'project', id: `prj_${rank}`, name: `Project ${rank}` };
        }
        case 'member': {
          const member = user(userRank(rng));
          return { type: 'member', id: member.id, name: member.name };
        }
        case 'invoice':
          return { type: 'invoice', id: `inv_${options.seed}_${n}` };
        case 'subscription':
          return { type: 'subscription', id: 'sub_main', name: 'Workspace subscription' };
        case 'secret': {
          const rank = secretRank(rng);
          return { type: 'secret', id: `sec_${rank}`, name: `deploy/key-${rank}` };
        }
        case 'settings':
          return { type: 'settings', id: 'workspace', name: 'Workspace settings' };
        case 'webhook':
          return { type: 'webhook', id: `wh_${intBelow(rng, 5)}` };
      }
    };
    const failed = rng() < (spec.action === 'auth.login' ? 0.12 : 0.04);
    const status: EventInput['status'] =
      spec.area === 'api'
        ? failed
          ? pick(rng, [400, 403, 404, 500])
          : pick(rng, [200, 200, 201, 204])
        : failed
          ? 'failure'
          : 'success';
    const id = options.idOf?.(n);
    const event: EventInput = {
      ...(id === undefined ? {} : { id }),
      action: spec.action,
      occurred_at: new Date(options.occurredAt(n, rng)).toISOString(),
      actor,
      ...(impersonated
        ? { impersonator: { id: `support_${intBelow(rng, 4)}`, email: 'support@trailkeeper.example' } }
        : {}),
      target: targetOf(),
      ...(rng() < 0.85 ? { team_id: `team_${teamRank(rng)}` } : {}),
      context: {
        ip: `203.0.113.${intBelow(rng, 254) + 1}`,
        user_agent: pick(rng, USER_AGENTS),
        request_id: `req_${Math.floor(rng() * 2 ** 48)
          .toString(16)
          .padStart(12, '0')}`,
        location: pick(rng, LOCATIONS),
      },
      area: spec.area,
      method: spec.method,
      status,
      duration_ms: Math.floor(5 + rng() ** 3 * 2_000),
      request: {
        path: `/api/${spec.area}/${spec.target}`,
        client_version: '4.12.0',
        // Exercises redaction like real traffic does: stored as "[REDACTED]".
        ...(spec.area === 'auth' ? { session_token: 'st_live_0123456789abcdef' } : {}),
      },
      metadata: { source: spec.by === 'user' ? 'web' : 'api', reason: '' },
    };
    // Pad the free-text reason so the event is ~1 KB as JSON, varied ±15 %.
    const want = Math.round(target * (0.85 + rng() * 0.3));
    const missing = Math.max(0, want - JSON.stringify(event).length);
    (event.metadata as Record<string, unknown>).reason = FILLER.repeat(
      Math.ceil(missing / FILLER.length) + 1,
    ).slice(0, missing);
    return event;
  };
};

const redact = createRedactor();

/** Builds the stored event exactly as the ingest use case does (same function, same redactor defaults). */
export const storedEvent = (
  input: EventInput,
  tenantId: string,
  nowMs: number,
  retentionDays: number | null = 90,
): StoredEvent => {
  const built: BuildResult = buildStoredEvent(input, { tenantId, retentionDays }, nowMs, redact);
  if (!built.ok) throw new Error(`synthetic event did not build: ${JSON.stringify(built.errors)}`);
  return built.event;
};
