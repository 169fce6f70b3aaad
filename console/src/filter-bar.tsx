/**
 * The filter bar: time range (presets and a custom from/to), action with suggestions from the
 * actions this person may see, actor, entity, team (a picker of their own teams for a team
 * admin), area, method, status, impersonated, and the "Show audit log reads" toggle. It edits a
 * draft; Apply (or Enter) hands the filters to the page, which puts them in the URL.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleApi } from './api.ts';
import { DEFAULT_FILTERS, type Filters, isoToLocal, RANGE_PRESETS, type Range } from './filters.ts';

interface Props {
  readonly filters: Filters;
  readonly api: ConsoleApi;
  /** A team admin's teams: the team filter becomes a picker of these. Empty for other roles. */
  readonly teamIds: readonly string[];
  readonly onApply: (filters: Filters) => void;
}

/** Suggestions for the last entry of a comma list: actions and their prefixes (`member.*`). */
const useActionSuggestions = (api: ConsoleApi, text: string, active: boolean): string[] => {
  const [suggestions, setSuggestions] = useState<string[]>([]);
  useEffect(() => {
    if (!active) return;
    const parts = text.split(',');
    const last = (parts.pop() ?? '').trim().replace(/\*$/, '');
    const head = parts.map((p) => p.trim()).filter((p) => p !== '');
    if (!/^[a-z0-9_.]*$/.test(last)) {
      setSuggestions([]);
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api
        .actions(last, controller.signal)
        .then((list) => {
          const actions = list.data.map((entry) => entry.action);
          const prefixes = new Set<string>();
          for (const action of actions) {
            const segments = action.split('.');
            for (let i = 1; i < segments.length; i++) prefixes.add(`${segments.slice(0, i).join('.')}.*`);
          }
          const values = [...prefixes].filter((p) => p.startsWith(last)).concat(actions);
          const prefix = head.length === 0 ? '' : `${head.join(',')},`;
          setSuggestions(values.map((value) => `${prefix}${value}`));
        })
        .catch(() => setSuggestions([]));
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [api, text, active]);
  return suggestions;
};

export const FilterBar = ({ filters, api, teamIds, onApply }: Props) => {
  const [draft, setDraft] = useState<Filters>(filters);
  // Suggestions are fetched once the action field is used, not on every page load.
  const [suggesting, setSuggesting] = useState(false);
  useEffect(() => setDraft(filters), [filters]);
  const suggestions = useActionSuggestions(api, draft.action, suggesting);

  const set = <K extends keyof Filters>(field: K, value: Filters[K]) =>
    setDraft((d) => ({ ...d, [field]: value }));
  const text = (field: keyof Filters, label: string, hint?: string, list?: string) => (
    <label class="field">
      <span>{label}</span>
      <input
        type="text"
        name={field}
        value={draft[field] as string}
        onInput={(e) => set(field, e.currentTarget.value as never)}
        autocomplete="off"
        spellcheck={false}
        {...(list === undefined ? {} : { list })}
        {...(hint === undefined ? {} : { placeholder: hint })}
        {...(field === 'action' ? { onFocus: () => setSuggesting(true) } : {})}
      />
    </label>
  );
  const applyNow = (next: Filters) => {
    setDraft(next);
    onApply(next);
  };

  return (
    <form
      class="filters"
      aria-label="Filters"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(draft);
      }}
    >
      <div class="filter-row">
        <label class="field">
          <span>Time range</span>
          <select
            name="range"
            value={draft.range}
            onChange={(e) => {
              const range = e.currentTarget.value as Range;
              if (range === 'custom') {
                // Start the custom range from the window shown so far.
                const now = Date.now();
                const shown = draft.range === 'custom' ? undefined : RANGE_PRESETS[draft.range].ms;
                setDraft((d) => ({
                  ...d,
                  range,
                  from: shown === undefined ? d.from : isoToLocal(new Date(now - shown).toISOString()),
                  to: shown === undefined ? d.to : isoToLocal(new Date(now).toISOString()),
                }));
              } else applyNow({ ...draft, range, from: '', to: '' });
            }}
          >
            {Object.entries(RANGE_PRESETS).map(([value, preset]) => (
              <option value={value} key={value}>
                {preset.label}
              </option>
            ))}
            <option value="custom">Custom range…</option>
          </select>
        </label>
        {draft.range === 'custom' && (
          <>
            <label class="field">
              <span>From</span>
              <input
                type="datetime-local"
                name="from"
                value={draft.from}
                onInput={(e) => set('from', e.currentTarget.value)}
              />
            </label>
            <label class="field">
              <span>To</span>
              <input
                type="datetime-local"
                name="to"
                value={draft.to}
                onInput={(e) => set('to', e.currentTarget.value)}
              />
            </label>
          </>
        )}
        {text('action', 'Action', 'member.* or a,b', 'tk-action-suggestions')}
        <datalist id="tk-action-suggestions">
          {suggestions.map((value) => (
            <option value={value} key={value} />
          ))}
        </datalist>
        {text('actor', 'User', 'email or id')}
        {text('target_type', 'Entity type', 'type, or a,b')}
        {text('target_id', 'Entity id')}
        {teamIds.length > 0 ? (
          <label class="field">
            <span>Team</span>
            <select name="team" value={draft.team} onChange={(e) => set('team', e.currentTarget.value)}>
              <option value="">All my teams</option>
              {teamIds.map((team) => (
                <option value={team} key={team}>
                  {team}
                </option>
              ))}
            </select>
          </label>
        ) : (
          text('team', 'Team', 'id, or a,b')
        )}
        {text('area', 'Area')}
        {text('method', 'Method')}
        {text('status', 'Status', 'success, 403…')}
        <label class="field">
          <span>Actor type</span>
          <select
            name="actor_type"
            value={draft.actor_type}
            onChange={(e) => set('actor_type', e.currentTarget.value)}
          >
            <option value="">Any</option>
            <option value="user">User</option>
            <option value="api_key">API key</option>
            <option value="service">Service account</option>
            <option value="system">System</option>
            <option value="support">Support (super admin)</option>
          </select>
        </label>
        <label class="field">
          <span>Impersonated</span>
          <select
            name="impersonated"
            value={draft.impersonated}
            onChange={(e) => set('impersonated', e.currentTarget.value as Filters['impersonated'])}
          >
            <option value="">Any</option>
            <option value="true">Yes</option>
            <option value="false">No</option>
          </select>
        </label>
      </div>
      <div class="filter-actions">
        <button type="submit" class="primary">
          Apply filters
        </button>
        <button type="button" onClick={() => applyNow({ ...DEFAULT_FILTERS, showReads: draft.showReads })}>
          Clear
        </button>
        <label class="toggle">
          <input
            type="checkbox"
            name="reads"
            checked={draft.showReads}
            onChange={(e) => applyNow({ ...draft, showReads: e.currentTarget.checked })}
          />
          <span>Show audit log reads</span>
        </label>
      </div>
    </form>
  );
};
