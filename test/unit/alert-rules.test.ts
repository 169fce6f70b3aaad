import { describe, expect, it } from 'vitest';
import {
  type AlertRule,
  type AlertState,
  alertPatchSchema,
  alertRuleSchema,
  applyAlertPatch,
  checkAbsence,
  evaluate,
  flushSuppressed,
  initialAlertState,
  isOutsideHours,
  MAX_FIRED_EVENTS,
  makeAlertRuleSchema,
  matches,
} from '#shared/domain/alert-rules.ts';
import type { StoredEvent } from '#shared/domain/event.ts';

const event = (overrides: Partial<StoredEvent> = {}): StoredEvent => ({
  id: 'evt_1',
  tenant_id: 'tnt_a',
  action: 'api_key.created',
  occurred_at: '2026-12-07T10:00:00.000Z',
  received_at: '2026-12-07T10:00:00.000Z',
  actor: { id: 'usr_mallory', type: 'user' },
  impersonated: false,
  expires_at: null,
  hash: 'h',
  ...overrides,
});

const rule = (input: Record<string, unknown>): AlertRule =>
  alertRuleSchema.parse({ name: 'r', notify: [{ email: 'sec@example.com' }], ...input });

const issuesOf = (input: unknown) => {
  const parsed = alertRuleSchema.safeParse(input);
  expect(parsed.success).toBe(false);
  return parsed.error?.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) ?? [];
};

const valid = { name: 'r', match: { action: 'api_key.created' }, notify: [{ email: 'sec@example.com' }] };

const MIN = 60_000;
const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * MIN).toISOString();

describe('alert rule schema', () => {
  it('parses a full rule and fills the defaults', () => {
    const parsed = alertRuleSchema.parse({
      ...valid,
      match: {
        action: 'api_key.created, session.impersonation.*',
        actor_id_not: ['usr_alice'],
        outside_hours: { tz: 'Europe/Berlin', from: '09:00', to: '17:30' },
      },
      threshold: { count: 3, window_minutes: 10 },
      notify: [
        { email: 'sec@example.com' },
        { slack_url: 'https://hooks.slack.com/x' },
        { webhook_url: 'https://a.example/h' },
      ],
    });
    expect(parsed.match.action).toEqual(['api_key.created', 'session.impersonation.*']);
    expect(parsed.match.outside_hours?.days).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
    expect(parsed.cooldown_minutes).toBe(5);
    expect(parsed.notify).toEqual([
      { email: 'sec@example.com' },
      { slack_url: 'https://hooks.slack.com/x' },
      { webhook_url: 'https://a.example/h' },
    ]);
  });

  it('takes actions as an array and one actor id as a list of one', () => {
    const parsed = alertRuleSchema.parse({ ...valid, match: { action: ['a.b', 'c.*'], actor_id: 'usr_1' } });
    expect(parsed.match.action).toEqual(['a.b', 'c.*']);
    expect(parsed.match.actor_id).toEqual(['usr_1']);
  });

  it('names the field of an unknown time zone', () => {
    const issues = issuesOf({
      ...valid,
      match: { action: 'a.b', outside_hours: { tz: 'Mars/Olympus', from: '09:00', to: '17:00' } },
    });
    expect(issues).toEqual([{ path: 'match.outside_hours.tz', message: expect.stringContaining('IANA') }]);
  });

  it('refuses a bare offset as a time zone and keeps a zone name in its canonical case', () => {
    expect(
      issuesOf({
        ...valid,
        match: { action: 'a.b', outside_hours: { tz: '+01:00', from: '09:00', to: '17:00' } },
      })[0]?.path,
    ).toBe('match.outside_hours.tz');
    const parsed = alertRuleSchema.parse({
      ...valid,
      match: { action: 'a.b', outside_hours: { tz: 'europe/berlin', from: '09:00', to: '17:00' } },
    });
    expect(parsed.match.outside_hours?.tz).toBe('Europe/Berlin');
  });

  it('names malformed hours, days and a from after to', () => {
    expect(
      issuesOf({
        ...valid,
        match: { action: 'a.b', outside_hours: { tz: 'UTC', from: '9:00', to: '17:00' } },
      })[0]?.path,
    ).toBe('match.outside_hours.from');
    expect(
      issuesOf({
        ...valid,
        match: { action: 'a.b', outside_hours: { tz: 'UTC', from: '18:00', to: '09:00' } },
      })[0]?.path,
    ).toBe('match.outside_hours.to');
    expect(
      issuesOf({
        ...valid,
        match: {
          action: 'a.b',
          outside_hours: { tz: 'UTC', from: '09:00', to: '17:00', days: ['mon', 'funday'] },
        },
      })[0]?.path,
    ).toBe('match.outside_hours.days.1');
  });

  it('names bad actions, oversized actor lists and unknown fields', () => {
    expect(issuesOf({ ...valid, match: { action: 'a.b,Not An Action' } })).toEqual([
      { path: 'match.action.1', message: expect.stringContaining('exact') },
    ]);
    expect(issuesOf({ ...valid, match: { action: 42 } })[0]?.path).toBe('match.action');
    expect(issuesOf({ ...valid, match: {} })[0]?.path).toBe('match.action');
    const tooMany = Array.from({ length: 101 }, (_, i) => `usr_${i}`);
    expect(issuesOf({ ...valid, match: { action: 'a.b', actor_id_not: tooMany } })).toEqual([
      { path: 'match.actor_id_not', message: 'at most 100 actors' },
    ]);
    expect(issuesOf({ ...valid, match: { action: 'a.b', actor: 'x' } })[0]?.path).toBe('match');
    expect(
      issuesOf({ ...valid, match: { action: 'a.b', actor_id: 'a', actor_id_not: ['b'] } })[0]?.path,
    ).toBe('match.actor_id_not');
  });

  it('names threshold, cooldown and notify errors', () => {
    expect(issuesOf({ ...valid, threshold: { count: 1, window_minutes: 5 } })[0]?.path).toBe(
      'threshold.count',
    );
    expect(issuesOf({ ...valid, threshold: { count: 2, window_minutes: 1441 } })[0]?.path).toBe(
      'threshold.window_minutes',
    );
    expect(issuesOf({ ...valid, cooldown_minutes: -1 })[0]?.path).toBe('cooldown_minutes');
    expect(issuesOf({ ...valid, notify: [] })[0]?.path).toBe('notify');
    expect(issuesOf({ ...valid, notify: Array(11).fill({ email: 'a@b.co' }) })[0]?.path).toBe('notify');
    expect(issuesOf({ ...valid, notify: [{ email: 'not-an-email' }] })[0]?.path).toBe('notify.0.email');
    expect(issuesOf({ ...valid, notify: [{ slack_url: 'ftp://x' }] })[0]?.path).toBe('notify.0.slack_url');
    expect(issuesOf({ ...valid, notify: [{ email: 'a@b.co', webhook_url: 'https://x' }] })[0]?.path).toBe(
      'notify.0',
    );
    expect(
      issuesOf({ ...valid, absent_minutes: 30, threshold: { count: 2, window_minutes: 5 } })[0]?.path,
    ).toBe('threshold');
  });

  it('applies the network policy to slack and webhook URLs', () => {
    const refused = (schema: typeof alertRuleSchema, target: Record<string, string>) =>
      schema.safeParse({ ...valid, notify: [target] }).error?.issues.map((i) => i.path.join('.'));
    expect(refused(alertRuleSchema, { webhook_url: 'https://169.254.169.254/latest' })).toEqual([
      'notify.0.webhook_url',
    ]);
    expect(refused(alertRuleSchema, { slack_url: 'http://127.0.0.1:8080/hook' })).toEqual([
      'notify.0.slack_url',
    ]);
    expect(refused(alertRuleSchema, { webhook_url: 'https://siem.example.com/hook' })).toBeUndefined();
    const local = makeAlertRuleSchema({ allowHttpLoopback: true, allowPrivate: [] });
    expect(refused(local, { slack_url: 'http://127.0.0.1:8080/hook' })).toBeUndefined();
    expect(refused(local, { slack_url: 'http://10.0.0.5/hook' })).toEqual(['notify.0.slack_url']);
  });
});

describe('alert rule patch', () => {
  const base = rule({ match: { action: 'api_key.created' }, threshold: { count: 2, window_minutes: 5 } });

  it('changes a field and removes one with null', () => {
    const patched = applyAlertPatch(base, alertPatchSchema.parse({ name: 'renamed', threshold: null }));
    expect(patched.success && patched.data.name).toBe('renamed');
    expect(patched.success && patched.data.threshold).toBeUndefined();
    expect(patched.success && patched.data.match.action).toEqual(['api_key.created']);
  });

  it('refuses an empty patch and a merge that breaks the rule', () => {
    expect(alertPatchSchema.safeParse({}).success).toBe(false);
    const broken = applyAlertPatch(base, alertPatchSchema.parse({ absent_minutes: 60 }));
    expect(broken.success).toBe(false);
    expect(broken.success ? [] : broken.error.issues.map((i) => i.path.join('.'))).toEqual(['threshold']);
  });
});

describe('reference 002: API key created by anyone other than a known list', () => {
  const keyRule = rule({ match: { action: 'api_key.created', actor_id_not: ['usr_alice', 'usr_bob'] } });

  it('matches a key created by someone else', () => {
    expect(matches(keyRule, event({ actor: { id: 'usr_mallory' } }))).toBe(true);
  });

  it('stays quiet for a listed actor and for other actions', () => {
    expect(matches(keyRule, event({ actor: { id: 'usr_alice' } }))).toBe(false);
    expect(matches(keyRule, event({ action: 'api_key.revoked' }))).toBe(false);
  });

  it('fires for the unknown creator, not for the listed one', () => {
    const listed = evaluate(initialAlertState(T0), keyRule, event({ actor: { id: 'usr_bob' } }), T0);
    expect(listed.fire).toBeUndefined();
    const unknown = evaluate(listed.state, keyRule, event({ id: 'evt_2' }), T0);
    expect(unknown.fire).toEqual({ kind: 'match', events: ['evt_2'], suppressed: 0 });
  });
});

describe('reference 002: super-admin impersonation outside business hours', () => {
  // Business hours in New York, Monday to Friday 09:00–17:00; super-admins are two known ids.
  const impersonation = rule({
    match: {
      action: 'session.impersonation.*',
      actor_id: ['usr_root1', 'usr_root2'],
      outside_hours: {
        tz: 'America/New_York',
        from: '09:00',
        to: '17:00',
        days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      },
    },
  });
  const started = (occurred_at: string, actor = 'usr_root1') =>
    event({ action: 'session.impersonation.started', occurred_at, actor: { id: actor, type: 'support' } });

  it('fires on a weekday night (Mon 2026-12-07 22:30 EST)', () => {
    const result = evaluate(initialAlertState(T0), impersonation, started('2026-12-08T03:30:00Z'), T0);
    expect(result.fire?.events).toEqual(['evt_1']);
  });

  it('is quiet inside business hours (Mon 10:00 EST) and at 09:00 sharp', () => {
    expect(matches(impersonation, started('2026-12-07T15:00:00Z'))).toBe(false);
    expect(matches(impersonation, started('2026-12-07T14:00:00Z'))).toBe(false);
    expect(matches(impersonation, started('2026-12-07T13:59:00Z'))).toBe(true);
    expect(matches(impersonation, started('2026-12-07T22:00:00Z'))).toBe(true);
  });

  it('fires at any time on a weekend day (Sat 2026-12-05 11:00 EST)', () => {
    expect(matches(impersonation, started('2026-12-05T16:00:00Z'))).toBe(true);
  });

  it('judges the day in the rule zone, not UTC (Fri 22:00 EST is Sat 03:00 UTC)', () => {
    const fridayEvening = rule({
      match: {
        action: 'session.impersonation.*',
        outside_hours: { tz: 'America/New_York', from: '09:00', to: '23:00' },
      },
    });
    expect(matches(fridayEvening, started('2026-12-05T03:00:00Z'))).toBe(false);
    expect(matches(fridayEvening, started('2026-12-06T03:00:00Z'))).toBe(true);
  });

  it('ignores impersonation by anyone but the super-admins', () => {
    expect(matches(impersonation, started('2026-12-08T03:30:00Z', 'usr_helpdesk'))).toBe(false);
  });
});

describe('outside_hours across daylight-saving changes', () => {
  const everyDay = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
  const berlin = { tz: 'Europe/Berlin', from: '09:00', to: '17:00', days: [...everyDay] };

  it('Europe/Berlin spring forward (2026-03-29): the same UTC time is 08:30 the day before, 09:30 after', () => {
    expect(isOutsideHours(berlin, '2026-03-28T07:30:00Z')).toBe(true);
    expect(isOutsideHours(berlin, '2026-03-29T07:30:00Z')).toBe(false);
    expect(isOutsideHours(berlin, '2026-03-28T15:30:00Z')).toBe(false);
    expect(isOutsideHours(berlin, '2026-03-29T15:30:00Z')).toBe(true);
  });

  it('Europe/Berlin: the skipped hour never happens, the repeated hour is judged by its wall clock twice', () => {
    const night = { tz: 'Europe/Berlin', from: '02:00', to: '02:30', days: [...everyDay] };
    // 01:59:59 CET is followed by 03:00 CEST.
    expect(isOutsideHours(night, '2026-03-29T00:59:00Z')).toBe(true);
    expect(isOutsideHours(night, '2026-03-29T01:00:00Z')).toBe(true);
    // 2026-10-25: 02:15 CEST (00:15Z) and 02:15 CET (01:15Z) are both inside; 02:45 of either is not.
    expect(isOutsideHours(night, '2026-10-25T00:15:00Z')).toBe(false);
    expect(isOutsideHours(night, '2026-10-25T01:15:00Z')).toBe(false);
    expect(isOutsideHours(night, '2026-10-25T00:45:00Z')).toBe(true);
    expect(isOutsideHours(night, '2026-10-25T01:45:00Z')).toBe(true);
  });

  it('America/New_York spring forward (2026-03-08) and fall back (2026-11-01) on business days', () => {
    const ny = {
      tz: 'America/New_York',
      from: '09:00',
      to: '17:00',
      days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const,
    };
    const hours = { ...ny, days: [...ny.days] };
    expect(isOutsideHours(hours, '2026-03-06T13:30:00Z')).toBe(true); // Fri 08:30 EST
    expect(isOutsideHours(hours, '2026-03-09T13:30:00Z')).toBe(false); // Mon 09:30 EDT
    expect(isOutsideHours(hours, '2026-10-30T13:30:00Z')).toBe(false); // Fri 09:30 EDT
    expect(isOutsideHours(hours, '2026-11-02T13:30:00Z')).toBe(true); // Mon 08:30 EST
  });

  it('accepts 24:00 as the end of the day', () => {
    const late = { tz: 'UTC', from: '08:00', to: '24:00', days: [...everyDay] };
    expect(isOutsideHours(late, '2026-12-07T23:59:00Z')).toBe(false);
    expect(isOutsideHours(late, '2026-12-07T07:59:00Z')).toBe(true);
  });
});

describe('alert matching', () => {
  it('never matches the service’s own trailkeeper.alert.* events, even when asked to', () => {
    const greedy = rule({ match: { action: 'trailkeeper.*' } });
    expect(matches(greedy, event({ action: 'trailkeeper.alert.triggered' }))).toBe(false);
    expect(matches(greedy, event({ action: 'trailkeeper.stream.created' }))).toBe(true);
    const exact = rule({ match: { action: 'trailkeeper.alert.triggered' } });
    expect(
      evaluate(initialAlertState(T0), exact, event({ action: 'trailkeeper.alert.triggered' }), T0).fire,
    ).toBe(undefined);
  });

  it('matches prefixes and lists as the events filter does', () => {
    const r = rule({ match: { action: 'member.*,api_key.created' } });
    expect(matches(r, event({ action: 'member.role_changed' }))).toBe(true);
    expect(matches(r, event({ action: 'api_key.created' }))).toBe(true);
    expect(matches(r, event({ action: 'members.x' }))).toBe(false);
  });

  it('compares the other fields exactly', () => {
    const r = rule({
      match: {
        action: 'a.b',
        actor_type: 'api_key',
        target_type: 'secret',
        target_id: 's1',
        team_id: 'team_1',
        status: 403,
        impersonated: true,
      },
    });
    const hit = event({
      action: 'a.b',
      actor: { id: 'k1', type: 'api_key' },
      target: { type: 'secret', id: 's1' },
      team_id: 'team_1',
      status: 403,
      impersonated: true,
    });
    expect(matches(r, hit)).toBe(true);
    expect(matches(r, { ...hit, actor: { id: 'k1', type: 'user' } })).toBe(false);
    expect(matches(r, { ...hit, target: { type: 'secret', id: 's2' } })).toBe(false);
    expect(matches(r, { ...hit, team_id: 'team_2' })).toBe(false);
    expect(matches(r, { ...hit, status: 404 })).toBe(false);
    expect(matches(r, { ...hit, impersonated: false })).toBe(false);
    const notImpersonated = rule({ match: { action: 'a.b', impersonated: false } });
    expect(matches(notImpersonated, { ...hit, impersonated: false })).toBe(true);
    expect(matches(notImpersonated, hit)).toBe(false);
  });
});

describe('threshold', () => {
  const burst = rule({ match: { action: 'auth.login_failed' }, threshold: { count: 3, window_minutes: 10 } });
  const failed = (id: string, minute: number) =>
    event({ id, action: 'auth.login_failed', occurred_at: at(minute) });

  const feed = (r: AlertRule, events: StoredEvent[], state = initialAlertState(T0), now = T0) => {
    const fires = [];
    for (const e of events) {
      const result = evaluate(state, r, e, now);
      state = result.state;
      if (result.fire) fires.push(result.fire);
    }
    return { state, fires };
  };

  it('fires on the count-th match within the window, naming the matches', () => {
    const { fires, state } = feed(burst, [failed('e1', 0), failed('e2', 4), failed('e3', 9)]);
    expect(fires).toEqual([{ kind: 'match', events: ['e1', 'e2', 'e3'], suppressed: 0 }]);
    expect(state.window).toEqual([]);
  });

  it('does not count a match beyond the window (exactly window_minutes apart is beyond)', () => {
    const { fires, state } = feed(burst, [failed('e1', 0), failed('e2', 5), failed('e3', 10)]);
    expect(fires).toEqual([]);
    expect(state.window).toHaveLength(2);
    const next = evaluate(state, burst, failed('e4', 11), T0);
    expect(next.fire?.events).toEqual(['e2', 'e3', 'e4']);
  });

  it('counts a late match inside the window and ignores one older than it', () => {
    const { fires } = feed(burst, [failed('e1', 20), failed('old', 5), failed('e2', 25), failed('late', 18)]);
    expect(fires).toEqual([{ kind: 'match', events: ['late', 'e1', 'e2'], suppressed: 0 }]);
  });

  it('names at most the newest MAX_FIRED_EVENTS matches and keeps its state bounded', () => {
    const many = rule({
      match: { action: 'auth.login_failed' },
      threshold: { count: 50, window_minutes: 60 },
    });
    const events = Array.from({ length: 49 }, (_, i) => failed(`e${i}`, i / 10));
    const { state } = feed(many, events);
    expect(state.window).toHaveLength(49);
    expect(state.window_ids).toHaveLength(MAX_FIRED_EVENTS);
    const fire = evaluate(state, many, failed('e49', 5), T0).fire;
    expect(fire?.events).toHaveLength(MAX_FIRED_EVENTS);
    expect(fire?.events.at(-1)).toBe('e49');
  });
});

describe('cooldown', () => {
  const each = rule({ match: { action: 'api_key.created' }, cooldown_minutes: 5 });
  const created = (id: string) => event({ id });

  it('fires once per cooldown and reports what it held back with the next fire', () => {
    let state: AlertState = initialAlertState(T0);
    const fires = [];
    for (const [id, minute] of [
      ['e1', 0],
      ['e2', 1],
      ['e3', 2],
      ['e4', 4.99],
      ['e5', 5],
      ['e6', 6],
    ] as const) {
      const result = evaluate(state, each, created(id), T0 + minute * MIN);
      state = result.state;
      if (result.fire) fires.push({ minute, ...result.fire });
    }
    expect(fires).toEqual([
      { minute: 0, kind: 'match', events: ['e1'], suppressed: 0 },
      { minute: 5, kind: 'match', events: ['e5'], suppressed: 3, suppressed_from: at(0) },
    ]);
    expect(state.suppressed).toBe(1);
  });

  it('with a threshold, holds back whole triggers during the cooldown', () => {
    const burst = rule({
      match: { action: 'a.b' },
      threshold: { count: 2, window_minutes: 10 },
      cooldown_minutes: 5,
    });
    const e = (id: string, minute: number) => event({ id, action: 'a.b', occurred_at: at(minute) });
    let state = evaluate(initialAlertState(T0), burst, e('e1', 0), T0).state;
    const first = evaluate(state, burst, e('e2', 0), T0);
    expect(first.fire?.events).toEqual(['e1', 'e2']);
    state = evaluate(first.state, burst, e('e3', 1), T0 + MIN).state;
    state = evaluate(state, burst, e('e4', 1), T0 + MIN).state;
    expect(state.suppressed).toBe(2);
    state = evaluate(state, burst, e('e5', 6), T0 + 6 * MIN).state;
    const second = evaluate(state, burst, e('e6', 6), T0 + 6 * MIN);
    expect(second.fire).toEqual({
      kind: 'match',
      events: ['e5', 'e6'],
      suppressed: 2,
      suppressed_from: at(1),
    });
  });

  it('reports held-back matches once the cooldown ends, if no new match did', () => {
    let state = evaluate(initialAlertState(T0), each, created('e1'), T0).state;
    state = evaluate(state, each, event({ id: 'e2', occurred_at: at(1) }), T0 + MIN).state;
    state = evaluate(state, each, event({ id: 'e3', occurred_at: at(2) }), T0 + 2 * MIN).state;
    expect(flushSuppressed(state, each, T0 + 4 * MIN).fire).toBeUndefined();
    const flushed = flushSuppressed(state, each, T0 + 5 * MIN);
    expect(flushed.fire).toEqual({ kind: 'held', events: [], suppressed: 2, suppressed_from: at(1) });
    expect(flushSuppressed(flushed.state, each, T0 + 60 * MIN).fire).toBeUndefined();
    // The flush started a new cooldown: the next match within it is held back.
    expect(evaluate(flushed.state, each, created('e4'), T0 + 6 * MIN).fire).toBeUndefined();
  });

  it('a cooldown of 0 fires on every match', () => {
    const noCooldown = rule({ match: { action: 'api_key.created' }, cooldown_minutes: 0 });
    const first = evaluate(initialAlertState(T0), noCooldown, created('e1'), T0);
    const second = evaluate(first.state, noCooldown, created('e2'), T0);
    expect([first.fire?.events, second.fire?.events]).toEqual([['e1'], ['e2']]);
  });
});

describe('absence', () => {
  const heartbeat = rule({ match: { action: 'sync.completed' }, absent_minutes: 30, cooldown_minutes: 60 });
  const beat = (id: string) => event({ id, action: 'sync.completed' });

  it('fires once when nothing matched for absent_minutes since the rule was armed', () => {
    const state = initialAlertState(T0);
    expect(checkAbsence(state, heartbeat, T0 + 29 * MIN).fire).toBeUndefined();
    const fired = checkAbsence(state, heartbeat, T0 + 30 * MIN);
    expect(fired.fire).toEqual({ kind: 'absence', events: [], suppressed: 0, absent_since: at(0) });
    expect(checkAbsence(fired.state, heartbeat, T0 + 300 * MIN).fire).toBeUndefined();
  });

  it('a match re-arms it and never fires by itself; the next silence fires after the cooldown', () => {
    const fired = checkAbsence(initialAlertState(T0), heartbeat, T0 + 30 * MIN);
    const matched = evaluate(fired.state, heartbeat, beat('e1'), T0 + 40 * MIN);
    expect(matched.fire).toBeUndefined();
    expect(checkAbsence(matched.state, heartbeat, T0 + 69 * MIN).fire).toBeUndefined();
    // Silent since minute 40 (absent at 70), but the cooldown of the fire at minute 30 lasts to 90.
    expect(checkAbsence(matched.state, heartbeat, T0 + 89 * MIN).fire).toBeUndefined();
    expect(checkAbsence(matched.state, heartbeat, T0 + 90 * MIN).fire).toEqual({
      kind: 'absence',
      events: [],
      suppressed: 0,
      absent_since: at(40),
    });
  });

  it('never fires for a rule without absent_minutes', () => {
    const plain = rule({ match: { action: 'sync.completed' } });
    expect(checkAbsence(initialAlertState(T0), plain, T0 + 10_000 * MIN).fire).toBeUndefined();
  });
});
