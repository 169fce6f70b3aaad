/**
 * The detail panel of one event: every field, the metadata and the request as formatted JSON
 * (text in a <pre>, never markup), copy buttons, links that filter by this actor or this target,
 * and the Verify panel. Focus moves to the panel when it opens; Escape closes it (the page then
 * returns focus to the row).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConsoleApi, StoredEvent } from './api.ts';
import { formatDuration, formatTime, showControls } from './columns.ts';

import { VerifyPanel } from './verify-panel.tsx';

interface Props {
  readonly event: StoredEvent;
  readonly api: ConsoleApi;
  readonly onClose: () => void;
  readonly onFilterActor: (actor: string) => void;
  readonly onFilterTarget: (type: string, id: string) => void;
}

const CopyButton = ({ text, label }: { text: string; label: string }) => {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      class="copy"
      aria-label={`Copy ${label}`}
      onClick={() => {
        navigator.clipboard
          .writeText(text)
          .then(() => setState('copied'))
          .catch(() => setState('failed'));
        setTimeout(() => setState('idle'), 2000);
      }}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}
    </button>
  );
};

const Json = ({ value, label }: { value: unknown; label: string }) => {
  const text = JSON.stringify(value, null, 2);
  return (
    <section class="json">
      <div class="json-head">
        <h3>{label}</h3>
        <CopyButton text={text} label={label} />
      </div>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard */}
      <section class="json-body" aria-label={label} tabIndex={0}>
        <pre>{showControls(text)}</pre>
      </section>
    </section>
  );
};

const str = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

export const DetailPanel = ({ event, api, onClose, onFilterActor, onFilterTarget }: Props) => {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [event.id]);
  const fields: [string, string][] = [
    ['Time', `${formatTime(event.occurred_at)} (${event.occurred_at})`],
    ['Received', event.received_at],
    ['Action', event.action],
    ['User', str(event.actor.email ?? event.actor.name)],
    ['User id', event.actor.id],
    ['User name', str(event.actor.name)],
    ['User type', str(event.actor.type)],
    ['Role', str(event.actor.role)],
    ['Impersonated', event.impersonated ? 'Yes' : 'No'],
    [
      'Impersonator',
      event.impersonator === undefined ? '' : (event.impersonator.email ?? event.impersonator.id),
    ],
    ['Impersonator id', str(event.impersonator?.id)],
    ['Entity type', str(event.target?.type)],
    ['Entity id', str(event.target?.id)],
    ['Entity name', str(event.target?.name)],
    ['Team', str(event.team_id)],
    ['Area', str(event.area)],
    ['Method', str(event.method)],
    ['Status', str(event.status)],
    ['Duration', formatDuration(event.duration_ms)],
    ['IP', str(event.context?.ip)],
    ['User agent', str(event.context?.user_agent)],
    ['Request id', str(event.context?.request_id)],
    ['Location', str(event.context?.location)],
    ['Event id', event.id],
    ['Expires', str(event.expires_at)],
    ['Hash', event.hash],
  ];
  const actor = event.actor.email ?? event.actor.id;
  return (
    <aside
      class="detail"
      aria-labelledby="tk-detail-title"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <div class="detail-head">
        <h2 id="tk-detail-title" tabIndex={-1} ref={heading}>
          <code>{showControls(event.action)}</code>
        </h2>
        <button type="button" onClick={onClose} aria-label="Close details">
          Close
        </button>
      </div>
      <div class="detail-links">
        <button type="button" class="link" onClick={() => onFilterActor(actor)}>
          More by this actor
        </button>
        {event.target?.id !== undefined && (
          <button
            type="button"
            class="link"
            onClick={() => onFilterTarget(event.target?.type ?? '', event.target?.id ?? '')}
          >
            More on this target
          </button>
        )}
      </div>
      <dl class="fields">
        {fields
          .filter(([, value]) => value !== '')
          .map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{showControls(value)}</dd>
            </div>
          ))}
      </dl>
      {event.metadata !== undefined && <Json value={event.metadata} label="Metadata" />}
      {event.request !== undefined && <Json value={event.request} label="Request" />}
      <VerifyPanel event={event} api={api} />
      <Json value={event} label="Event JSON" />
    </aside>
  );
};
