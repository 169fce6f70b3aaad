/** The column chooser: checkboxes for every column; the page remembers the choice per person. */
import { COLUMNS, type ColumnId, DEFAULT_COLUMNS, orderColumns } from './columns.ts';

interface Props {
  readonly columns: readonly ColumnId[];
  readonly onChange: (columns: ColumnId[]) => void;
}

export const ColumnChooser = ({ columns, onChange }: Props) => (
  <details class="chooser">
    <summary>Columns</summary>
    <fieldset>
      <legend>Columns shown</legend>
      {COLUMNS.map((column) => (
        <label key={column.id} class="check">
          <input
            type="checkbox"
            name={`column-${column.id}`}
            checked={columns.includes(column.id)}
            disabled={columns.length === 1 && columns.includes(column.id)}
            onChange={(e) =>
              onChange(
                orderColumns(
                  e.currentTarget.checked
                    ? [...columns, column.id]
                    : columns.filter((id) => id !== column.id),
                ),
              )
            }
          />
          <span>{column.label}</span>
        </label>
      ))}
      <button type="button" class="link" onClick={() => onChange([...DEFAULT_COLUMNS])}>
        Reset to default
      </button>
    </fieldset>
  </details>
);
