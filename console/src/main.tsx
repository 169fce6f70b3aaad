/**
 * The audit log console: signs in from the viewer-session link, then shows the tenant's log —
 * filter bar (state in the URL), table with a column chooser, load more, detail panel, export.
 * Runs under a strict CSP with Trusted Types and no policy: everything is rendered by Preact as
 * text nodes and attributes, never as HTML strings.
 */
import { render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  ConsoleApi,
  type EndReason,
  type EventPage,
  errorText,
  exchangeCode,
  type Session,
  SessionEndedError,
  type StoredEvent,
} from './api.ts';
import { ColumnChooser } from './column-chooser.tsx';
import { type ColumnId, columnsStorageKey, formatTime, loadColumns, saveColumns } from './columns.ts';
import { DetailPanel } from './detail-panel.tsx';
import { EventTable } from './event-table.tsx';
import { downloadExport, ExportDialog } from './export-dialog.tsx';
import { FilterBar } from './filter-bar.tsx';
import {
  activeFilterCount,
  apiQuery,
  type Filters,
  filtersFromSearch,
  PAGE_SIZE,
  searchFromFilters,
} from './filters.ts';
import {
  announceSessionEnd,
  type ConsoleConfig,
  clearFragment,
  forgetSession,
  isExpired,
  loadSession,
  readConfig,
  readFragment,
  storeSession,
} from './session.ts';
import './console.css';

type Phase =
  | { kind: 'starting' }
  | { kind: 'signed-out'; exportLink: boolean }
  | { kind: 'ended'; reason: EndReason }
  | { kind: 'error'; message: string }
  | { kind: 'ready'; session: Session; exportId?: string };

const OpenFromApp = ({ config }: { config: ConsoleConfig }) =>
  config.app_url === null ? (
    <p>Open the audit log from your application.</p>
  ) : (
    <p>
      Open the audit log from your application: <a href={config.app_url}>{config.app_url}</a>
    </p>
  );

const Notice = ({ title, children }: { title: string; children: preact.ComponentChildren }) => (
  <main class="notice">
    <h1>{title}</h1>
    {children}
  </main>
);

const App = ({ config }: { config: ConsoleConfig }) => {
  const [phase, setPhase] = useState<Phase>({ kind: 'starting' });

  const endSession = useCallback(
    (reason: EndReason = 'expired') => {
      forgetSession(config.tenant_id);
      setPhase((current) => {
        if (current.kind === 'ended') return current;
        announceSessionEnd(config);
        return { kind: 'ended', reason };
      });
    },
    [config],
  );

  // On load, and when a link changes only the fragment (same document): sign in, or open an export.
  useEffect(() => {
    const boot = () => {
      const intent = readFragment(location.hash);
      if (intent.code !== undefined || intent.exportId !== undefined) clearFragment();
      if (intent.code !== undefined) {
        exchangeCode(intent.code)
          .then((session) => {
            storeSession(config.tenant_id, session);
            setPhase({ kind: 'ready', session });
          })
          .catch((error) =>
            setPhase({
              kind: 'error',
              message: `This sign-in link cannot be used (${errorText(error)}). Links work once, for five minutes: open the audit log from your application again.`,
            }),
          );
        return;
      }
      const session = loadSession(config.tenant_id);
      if (session === undefined) setPhase({ kind: 'signed-out', exportLink: intent.exportId !== undefined });
      else if (isExpired(session)) endSession();
      else
        setPhase({
          kind: 'ready',
          session,
          ...(intent.exportId === undefined ? {} : { exportId: intent.exportId }),
        });
    };
    boot();
    const onHash = () => {
      const intent = readFragment(location.hash);
      if (intent.code !== undefined || intent.exportId !== undefined) boot();
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, [config, endSession]);

  // The session ends at its expiry even when nothing is requested.
  useEffect(() => {
    if (phase.kind !== 'ready') return;
    const timer = setTimeout(
      () => endSession('expired'),
      Math.max(0, Date.parse(phase.session.expires_at) - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [phase, endSession]);

  switch (phase.kind) {
    case 'starting':
      return (
        <main class="notice" aria-busy="true">
          <p role="status">Signing in…</p>
        </main>
      );
    case 'signed-out':
      return (
        <Notice title="Audit log">
          {phase.exportLink && <p>To download this export, sign in first.</p>}
          <OpenFromApp config={config} />
        </Notice>
      );
    case 'ended':
      return (
        <Notice title="Your session has ended">
          <p role="alert">
            {phase.reason === 'access'
              ? 'Your role no longer has access to the audit log.'
              : phase.reason === 'revoked'
                ? 'It was signed out.'
                : 'Audit log sessions are short-lived, for your security.'}
          </p>
          <OpenFromApp config={config} />
        </Notice>
      );
    case 'error':
      return (
        <Notice title="Audit log">
          <p role="alert">{phase.message}</p>
          <OpenFromApp config={config} />
        </Notice>
      );
    case 'ready':
      return (
        <Console config={config} session={phase.session} exportId={phase.exportId} onEnded={endSession} />
      );
  }
};

interface Listing {
  events: StoredEvent[];
  cursor: string | null;
  scannedUntil: string | undefined;
  /** The last page came back with fewer rows than asked, yet not at the end (the work budget). */
  cutShort: boolean;
  loading: boolean;
  error: string | undefined;
}

const EMPTY: Listing = {
  events: [],
  cursor: null,
  scannedUntil: undefined,
  cutShort: false,
  loading: true,
  error: undefined,
};

/** The listing after a page arrived: `before` are the rows already shown (none for a first page). */
const listingAfter = (before: StoredEvent[], page: EventPage): Listing => ({
  events: [...before, ...page.data],
  cursor: page.next_cursor,
  scannedUntil: page.scanned_until,
  cutShort: page.next_cursor !== null && page.data.length < PAGE_SIZE,
  loading: false,
  error: undefined,
});

const Console = ({
  config,
  session,
  exportId,
  onEnded,
}: {
  config: ConsoleConfig;
  session: Session;
  exportId: string | undefined;
  onEnded: (reason: EndReason) => void;
}) => {
  const api = useMemo(() => new ConsoleApi(session, onEnded), [session, onEnded]);
  const [filters, setFilters] = useState<Filters>(() => filtersFromSearch(location.search));
  const [listing, setListing] = useState<Listing>(EMPTY);
  const [query, setQuery] = useState(() => apiQuery(filters, Date.now()));
  const columnsKey = columnsStorageKey(config.tenant_id, session.user.id);
  const [columns, setColumns] = useState<ColumnId[]>(() => loadColumns(columnsKey));
  const [selected, setSelected] = useState<StoredEvent | undefined>();
  const [exporting, setExporting] = useState(false);
  const [exportNotice, setExportNotice] = useState<string | undefined>();
  const openedFrom = useRef<HTMLElement | null>(null);
  const firstRowsMarked = useRef(false);
  /** Bumped when the filters change, so a late "load more" answer of the old view is dropped. */
  const generation = useRef(0);
  const canExport = session.permissions.includes('export');

  // The emailed link: download at once (the API checks it is this person's export).
  useEffect(() => {
    if (exportId === undefined) return;
    setExportNotice('Preparing your export download…');
    downloadExport(api, exportId).catch((error) => {
      if (!(error instanceof SessionEndedError))
        setExportNotice(`This export cannot be downloaded: ${errorText(error)}`);
    });
  }, [api, exportId]);

  // Back and forward restore the filters of that history entry.
  useEffect(() => {
    const onPop = () => setFilters(filtersFromSearch(location.search));
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  // Every change of filters loads the first page again.
  useEffect(() => {
    const controller = new AbortController();
    generation.current += 1;
    const q = apiQuery(filters, Date.now());
    setQuery(q);
    setSelected(undefined);
    setListing(EMPTY);
    api
      .listEvents({ ...q, limit: PAGE_SIZE }, controller.signal)
      .then((page) => setListing(listingAfter([], page)))
      .catch((error) => {
        if (controller.signal.aborted || error instanceof SessionEndedError) return;
        setListing({ ...EMPTY, loading: false, error: errorText(error) });
      });
    return () => controller.abort();
  }, [api, filters]);

  useEffect(() => {
    if (firstRowsMarked.current || listing.loading) return;
    firstRowsMarked.current = true;
    performance.mark('trailkeeper:first-rows');
  }, [listing.loading]);

  const apply = useCallback((next: Filters) => {
    const search = searchFromFilters(next);
    if (search !== location.search) history.pushState(null, '', `${location.pathname}${search}`);
    setFilters(next);
  }, []);

  const loadMore = () => {
    if (listing.cursor === null) return;
    setListing((l) => ({ ...l, loading: true, error: undefined }));
    const view = generation.current;
    api
      .listEvents({ ...query, limit: PAGE_SIZE, cursor: listing.cursor })
      .then((page) => {
        if (view !== generation.current) return;
        setListing((l) => listingAfter(l.events, page));
      })
      .catch((error) => {
        if (error instanceof SessionEndedError || view !== generation.current) return;
        setListing((l) => ({ ...l, loading: false, error: errorText(error) }));
      });
  };

  const chooseColumns = (next: ColumnId[]) => {
    setColumns(next);
    saveColumns(columnsKey, next);
  };

  const closeDetail = useCallback(() => {
    setSelected(undefined);
    openedFrom.current?.focus();
  }, []);

  // Escape closes the detail panel wherever the focus is (the export dialog handles its own).
  useEffect(() => {
    if (selected === undefined || exporting) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !e.defaultPrevented) closeDetail();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [selected, exporting, closeDetail]);

  const who = session.user.email ?? session.user.name ?? session.user.id;
  const count = activeFilterCount(filters);
  const status = listing.loading
    ? 'Loading events…'
    : listing.error !== undefined
      ? ''
      : `${listing.events.length.toLocaleString()} event${listing.events.length === 1 ? '' : 's'} shown${count > 0 ? `, ${count} filter${count === 1 ? '' : 's'} applied` : ''}.`;

  return (
    <div class={selected === undefined ? 'layout' : 'layout with-detail'}>
      <header class="top">
        <div>
          <p class="crumb">Settings › Audit log</p>
          <h1>Audit log</h1>
        </div>
        <div class="who">
          <span>{who}</span>
          <span class="badge role">{session.role.replace('_', ' ')}</span>
        </div>
      </header>
      {exportNotice !== undefined && (
        <p class="banner" role="status">
          {exportNotice}
        </p>
      )}
      <FilterBar
        filters={filters}
        api={api}
        teamIds={session.role === 'team_admin' ? session.team_ids : []}
        onApply={apply}
      />
      <div class="toolbar">
        <p role="status" aria-live="polite" class="live">
          {status}
        </p>
        <div class="tools">
          <ColumnChooser columns={columns} onChange={chooseColumns} />
          {canExport && (
            <button type="button" class="primary" onClick={() => setExporting(true)}>
              Export
            </button>
          )}
        </div>
      </div>
      <main class="content">
        {listing.error !== undefined && (
          <div role="alert" class="error">
            <strong>The events could not be loaded.</strong> {listing.error}
          </div>
        )}
        {listing.events.length > 0 && (
          <EventTable
            events={listing.events}
            columns={columns}
            selectedId={selected?.id}
            onOpen={(event, row) => {
              openedFrom.current = row;
              setSelected(event);
            }}
          />
        )}
        {!listing.loading &&
          listing.error === undefined &&
          listing.events.length === 0 &&
          listing.cursor === null && (
            <div class="empty">
              <h2>No events</h2>
              <p>Nothing matches these filters in this time range. Try a longer range or fewer filters.</p>
            </div>
          )}
        <div class="paging">
          {listing.cutShort && listing.scannedUntil !== undefined && (
            <p class="scanned">
              Searched back to <time dateTime={listing.scannedUntil}>{formatTime(listing.scannedUntil)}</time>
              . Older events may match: load more to keep searching.
            </p>
          )}
          {listing.cursor !== null && !listing.loading && (
            <button type="button" onClick={loadMore}>
              Load more
            </button>
          )}
          {listing.cursor === null &&
            !listing.loading &&
            listing.error === undefined &&
            listing.events.length > 0 && <p class="end">End of the log for this range.</p>}
          {listing.loading && listing.events.length > 0 && <p>Loading…</p>}
        </div>
      </main>
      {selected !== undefined && (
        <DetailPanel
          event={selected}
          api={api}
          onClose={closeDetail}
          onFilterActor={(actor) => apply({ ...filters, actor })}
          onFilterTarget={(type, id) => apply({ ...filters, target_type: type, target_id: id })}
        />
      )}
      {exporting && (
        <ExportDialog
          api={api}
          query={query}
          columns={columns}
          email={session.user.email}
          onClose={() => setExporting(false)}
        />
      )}
    </div>
  );
};

const root = document.getElementById('console');
if (root !== null) {
  root.replaceChildren();
  render(<App config={readConfig()} />, root);
}
