import { useMemo, useState } from 'react';

/** The tables of a report, each downloadable as CSV. */
export type Table = 'series' | 'queues' | 'agents' | 'channels';

export interface Column<R> {
  key: keyof R & string;
  label: string;
  format?: (v: never) => string;
}

/** A table sorted by any column (click its header; again to reverse); nulls sort last. */
export function SortableTable<R>(p: {
  rows: R[];
  columns: Column<R>[];
  rowKey: (r: R) => string;
  caption: string;
}) {
  const [sort, setSort] = useState<{ key: string; desc: boolean } | null>(null);
  const rows = useMemo(() => {
    if (!sort) return p.rows;
    const k = sort.key as keyof R;
    return [...p.rows].sort((a, b) => {
      const x = a[k] as unknown;
      const y = b[k] as unknown;
      if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
      if (y === null || y === undefined) return -1;
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return sort.desc ? -c : c;
    });
  }, [p.rows, sort]);
  return (
    <div className="table-wrap">
      <table className="table report-table">
        <caption className="sr-only">{p.caption}</caption>
        <thead>
          <tr>
            {p.columns.map((col) => {
              const current = sort?.key === col.key;
              return (
                <th
                  key={col.key}
                  scope="col"
                  aria-sort={current ? (sort.desc ? 'descending' : 'ascending') : 'none'}
                >
                  <button
                    type="button"
                    className="sort-button"
                    aria-label={`Sort by ${col.label}`}
                    onClick={() =>
                      setSort((s) =>
                        s?.key === col.key ? { key: col.key, desc: !s.desc } : { key: col.key, desc: true },
                      )
                    }
                  >
                    {col.label}
                    {current ? (sort.desc ? ' ▼' : ' ▲') : ''}
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={p.rowKey(r)}>
              {p.columns.map((col) => {
                const v = r[col.key] as unknown;
                return (
                  <td key={col.key}>{col.format ? col.format(v as never) : v === null ? '—' : String(v)}</td>
                );
              })}
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={p.columns.length} className="muted">
                Nothing in this range.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A report's table in its card, with its CSV download. */
export function ReportTable<R>(p: {
  title: string;
  table: Table;
  rows: R[];
  columns: Column<R>[];
  rowKey: (r: R) => string;
  download: (t: Table) => Promise<void>;
}) {
  return (
    <div className="card">
      <div className="page-head">
        <h2>{p.title}</h2>
        <button type="button" className="button ghost" onClick={() => void p.download(p.table)}>
          Download CSV ({p.title.toLowerCase()})
        </button>
      </div>
      <SortableTable rows={p.rows} columns={p.columns} rowKey={p.rowKey} caption={p.title} />
    </div>
  );
}
