/**
 * Export of the current view: the filters the table shows and, for CSV, its chosen columns.
 * Up to 10,000 rows the API answers `completed` at once; larger exports are `queued`, and the
 * dialog follows them (GET /v1/exports/{id}) to the end. Then the browser goes to the file's
 * fresh download URL (GET /v1/exports/{id}/download, JSON answer).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ListEventsQuery } from '../../client/index.ts';
import { type ConsoleApi, type Export, errorText, SessionEndedError } from './api.ts';
import { type ColumnId, columnById, csvColumns } from './columns.ts';

type Format = 'csv' | 'json' | 'ndjson';

interface Props {
  readonly api: ConsoleApi;
  readonly query: ListEventsQuery;
  readonly columns: readonly ColumnId[];
  /** The person's own email: a large export can email them its link (only their own address). */
  readonly email: string | undefined;
  readonly onClose: () => void;
}

const POLL_MS = 1500;

/** Goes to a completed export's file (a fresh presigned URL). */
export const downloadExport = async (api: ConsoleApi, id: string): Promise<void> => {
  const { url } = await api.downloadUrl(id);
  location.assign(url);
};

export const ExportDialog = ({ api, query, columns, email, onClose }: Props) => {
  const dialog = useRef<HTMLDialogElement>(null);
  const [format, setFormat] = useState<Format>('csv');
  const [notify, setNotify] = useState(false);
  const [job, setJob] = useState<Export | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const cancelled = useRef(false);

  useEffect(() => {
    dialog.current?.showModal();
    return () => {
      cancelled.current = true;
    };
  }, []);

  const start = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const { cursor: _cursor, limit: _limit, ...filters } = query;
      let current = await api.createExport({
        ...filters,
        format,
        ...(format === 'csv' ? { columns: csvColumns(columns) } : {}),
        ...(notify && email !== undefined ? { notify_email: email } : {}),
      } as Parameters<ConsoleApi['createExport']>[0]);
      setJob(current);
      while (current.status === 'queued' || current.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        if (cancelled.current) return;
        current = await api.getExport(current.id);
        setJob(current);
      }
      if (current.status === 'failed') {
        setError(current.error ?? 'The export failed.');
        return;
      }
      await downloadExport(api, current.id);
    } catch (caught) {
      if (!(caught instanceof SessionEndedError)) setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  };

  const progress = job === undefined ? undefined : Math.round(job.progress * 100);
  return (
    <dialog
      ref={dialog}
      class="export"
      aria-labelledby="tk-export-title"
      onClose={onClose}
      onCancel={() => {
        cancelled.current = true;
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <h2 id="tk-export-title">Export</h2>
        <p>Exports the events of the current filters and time range.</p>
        <fieldset disabled={busy}>
          <legend>Format</legend>
          {(
            [
              ['csv', 'CSV (opens in a spreadsheet; the columns shown)'],
              ['json', 'JSON (whole events, one array)'],
              ['ndjson', 'NDJSON (whole events, one per line)'],
            ] as const
          ).map(([value, label]) => (
            <label class="radio" key={value}>
              <input
                type="radio"
                name="format"
                value={value}
                checked={format === value}
                onChange={() => setFormat(value)}
              />
              <span>{label}</span>
            </label>
          ))}
        </fieldset>
        {format === 'csv' && (
          <p class="hint">
            Columns: {columns.map((id) => columnById(id).label).join(', ')}; the verification columns (id,
            received at, hash, event JSON) always follow.
          </p>
        )}
        <div role="status" aria-live="polite" class="export-status">
          {job !== undefined && job.status !== 'completed' && job.status !== 'failed' && (
            <>
              <span>
                {job.status === 'queued' ? 'Queued' : 'Writing'}: {job.rows.toLocaleString()} rows so far
              </span>
              <progress max={100} value={progress}>
                {progress}%
              </progress>
            </>
          )}
          {job?.status === 'completed' && <span>Done: {job.rows.toLocaleString()} rows. Downloading…</span>}
        </div>
        {email !== undefined && (
          <label class="check">
            <input
              type="checkbox"
              name="notify"
              checked={notify}
              disabled={busy}
              onChange={(e) => setNotify(e.currentTarget.checked)}
            />
            <span>If it is large (over 10,000 rows), also email the download link to {email}</span>
          </label>
        )}
        {error !== undefined && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Exporting…' : 'Export'}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            {busy ? 'Close' : 'Cancel'}
          </button>
        </div>
      </form>
    </dialog>
  );
};
