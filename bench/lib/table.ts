/**
 * Plain-text tables for the report: a title, a header row and aligned columns (numbers to the
 * right, text to the left). No colours: the output is meant to be pasted into issues and CI logs.
 */

export type Cell = string | number | null | undefined;

export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Lines printed under the table (legend, caveats). */
  notes?: string[];
}

/** Formats a number for a table cell: integers with thousands separators, others with `digits` decimals. */
export const fmt = (value: number | null | undefined, digits = 2): string => {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
};

const isNumeric = (cell: Cell): boolean =>
  typeof cell === 'number' || (typeof cell === 'string' && /^[-+]?[\d,.]+(×| ?%)?$/.test(cell));

const text = (cell: Cell): string => (typeof cell === 'number' ? fmt(cell) : (cell ?? '–'));

export const renderTable = (table: Table): string => {
  const body = table.rows.map((row) => table.columns.map((_, i) => text(row[i])));
  const widths = table.columns.map((header, i) =>
    Math.max(header.length, ...body.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[], raw?: Cell[]) =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        return raw !== undefined && isNumeric(raw[i]) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const out = [
    table.title,
    line(table.columns),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map((cells, r) => line(cells, table.rows[r])),
    ...(table.notes ?? []).map((note) => `  ${note}`),
  ];
  return out.join('\n');
};
