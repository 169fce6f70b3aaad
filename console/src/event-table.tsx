/**
 * The events table: the chosen columns, newest first, impersonated rows marked with a badge.
 * Every value is a text node (never markup). A row opens the detail panel on click, Enter or
 * Space; rows are focusable in tab order.
 */
import type { StoredEvent } from './api.ts';
import { type ColumnId, columnById, showControls } from './columns.ts';

interface Props {
  readonly events: readonly StoredEvent[];
  readonly columns: readonly ColumnId[];
  readonly selectedId: string | undefined;
  readonly onOpen: (event: StoredEvent, row: HTMLElement) => void;
}

/** A value with a word too long for a column (a user agent, a hostile id) may break anywhere. */
const LONG_TOKEN = /\S{20,}/;

const Cell = ({ event, id }: { event: StoredEvent; id: ColumnId }) => {
  const column = columnById(id);
  const text = showControls(column.text(event));
  if (id === 'time')
    return (
      <time dateTime={event.occurred_at} title={event.occurred_at}>
        {text}
      </time>
    );
  if (id === 'user')
    return (
      <>
        <span class="user" title={event.actor.id}>
          {text}
        </span>
        {event.impersonated && <span class="badge impersonated">Impersonated</span>}
      </>
    );
  if (id === 'action') return <code>{text}</code>;
  if (id === 'status') {
    const failed = event.status === 'failure' || (typeof event.status === 'number' && event.status >= 400);
    return <span class={failed ? 'status failed' : 'status'}>{text}</span>;
  }
  return <>{text}</>;
};

export const EventTable = ({ events, columns, selectedId, onOpen }: Props) => (
  <div class="table-wrap">
    <table class="events">
      <caption class="visually-hidden">
        Audit log events, newest first. Select a row to see its details.
      </caption>
      <thead>
        <tr>
          {columns.map((id) => (
            <th scope="col" key={id}>
              {columnById(id).label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {events.map((event) => (
          <tr
            key={event.id}
            data-event-id={event.id}
            tabIndex={0}
            class={`row${event.impersonated ? ' impersonated' : ''}${event.id === selectedId ? ' selected' : ''}`}
            onClick={(e) => onOpen(event, e.currentTarget)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                onOpen(event, e.currentTarget);
              }
            }}
          >
            {columns.map((id) => (
              <td
                key={id}
                class={
                  LONG_TOKEN.test(showControls(columnById(id).text(event))) ? `col-${id} long` : `col-${id}`
                }
              >
                <Cell event={event} id={id} />
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);
