import {
  BarController,
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { useEffect, useMemo, useState } from 'react';
import { Chart } from 'react-chartjs-2';
import type { ReportChannel, ReportQuery, ReportView } from '../../../../protocol/src/reports.ts';
import { Alert } from '../../components/ui.tsx';
import { errorText } from '../../bridge/types.ts';
import { useConsole } from '../../hooks.ts';
import { atOnce, CHANNEL_LABELS, ChannelTable } from './ChannelTable.tsx';
import { ReportTable, type Column, type Table } from './SortableTable.tsx';
import './reports.css';

ChartJS.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  Legend,
);

type QueueRow = ReportView['queues'][number];
type AgentRow = ReportView['agents'][number];
type BucketRow = ReportView['series'][number];

const dateOf = (d: Date) => d.toISOString().slice(0, 10);
const daysAgo = (n: number) => dateOf(new Date(Date.now() - n * 86_400_000));
const secs = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)} s`);
const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);

const FIGURES: Column<QueueRow | BucketRow>[] = [
  { key: 'offered', label: 'Offered' },
  { key: 'answered', label: 'Answered' },
  { key: 'abandoned', label: 'Abandoned' },
  { key: 'abandonedWithin10s', label: 'Abandoned ≤ 10 s' },
  { key: 'avgAbandonSeconds', label: 'Avg abandon', format: secs },
  { key: 'avgSpeedOfAnswerSeconds', label: 'ASA', format: secs },
  { key: 'serviceLevel', label: 'Service level', format: pct },
  { key: 'avgTalkSeconds', label: 'Avg talk', format: secs },
  { key: 'avgWrapUpSeconds', label: 'Avg wrap-up', format: secs },
  { key: 'avgHandleSeconds', label: 'AHT', format: secs },
  { key: 'transfers', label: 'Transfers' },
  { key: 'callbacksKept', label: 'Callbacks kept' },
  { key: 'answeredAtLevel1', label: 'L1' },
  { key: 'answeredAtLevel2', label: 'L2' },
  { key: 'answeredAtLevel3', label: 'L3' },
  { key: 'deviceVerifySeconds', label: 'Device verify', format: secs },
  { key: 'knowledgeSeconds', label: 'Questions', format: secs },
  { key: 'chatMessages', label: 'Chat messages' },
] as Column<QueueRow | BucketRow>[];

const QUEUE_COLUMNS = [
  { key: 'queueName', label: 'Queue' },
  { key: 'targetAnswerSeconds', label: 'Target', format: (v: number) => `${v} s` },
  ...FIGURES,
] as Column<QueueRow>[];
const SERIES_COLUMNS = [{ key: 'label', label: 'Period' }, ...FIGURES] as Column<BucketRow>[];
const AGENT_COLUMNS: Column<AgentRow>[] = [
  { key: 'agentName', label: 'Agent' },
  { key: 'answered', label: 'Answered' },
  { key: 'takenIn', label: 'Taken in' },
  { key: 'transfersOut', label: 'Passed on' },
  { key: 'talkSeconds', label: 'Talk', format: secs },
  { key: 'wrapUpSeconds', label: 'Wrap-up', format: secs },
  { key: 'avgHandleSeconds', label: 'AHT', format: secs },
  { key: 'deviceVerifications', label: 'Verify requests' },
  { key: 'deviceVerifySeconds', label: 'Device verify', format: secs },
  { key: 'knowledgeChecks', label: 'Knowledge checks' },
  { key: 'knowledgeChecksPassed', label: 'Passed' },
  { key: 'knowledgeSeconds', label: 'Questions', format: secs },
  { key: 'chatMessagesSent', label: 'Chat messages' },
  { key: 'chatTalkSeconds', label: 'Chat time', format: secs },
  { key: 'avgConcurrentChats', label: 'Chats at once', format: atOnce },
];

/**
 * Historical reports for supervisors: a range of days in the site's time zone, by day or
 * hour, optionally one queue or agent; a chart (chart.js) of offered / answered /
 * abandoned with the service level, sortable tables, and each table as CSV.
 */
export function ReportsScreen() {
  const c = useConsole();
  const [query, setQuery] = useState<ReportQuery>({
    from: daysAgo(7),
    to: daysAgo(1),
    granularity: 'day',
    channel: 'all',
  });
  const [view, setView] = useState<ReportView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [queues, setQueues] = useState<{ id: string; name: string }[]>([]);
  const [agents, setAgents] = useState<{ id: string; name: string }[]>([]);

  const run = async (q: ReportQuery) => {
    setBusy(true);
    setError(null);
    try {
      const v = await c.bridge.invoke('reports.get', q);
      setView(v);
      // The filters offer what the report has seen (kept while a filter narrows it).
      setQueues((old) =>
        merge(
          old,
          v.queues.map((x) => ({ id: x.queueId, name: x.queueName })),
        ),
      );
      setAgents((old) =>
        merge(
          old,
          v.agents.map((x) => ({ id: x.agentId, name: x.agentName })),
        ),
      );
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    // The first report, once: later ones are asked for with the form.
    void run(query);
  }, []);

  const download = async (table: Table) => {
    setError(null);
    try {
      const { filename, csv } = await c.bridge.invoke('reports.csv', { ...query, table });
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const chart = useMemo(() => (view ? chartData(view) : null), [view]);

  return (
    <section className="page reports" aria-labelledby="reports-title">
      <div className="page-head">
        <h1 id="reports-title">Reports</h1>
        {view && <span className="muted">Times in {view.timeZone}</span>}
      </div>
      <form
        className="report-filters card"
        aria-label="Report filters"
        onSubmit={(e) => {
          e.preventDefault();
          void run(query);
        }}
      >
        <label>
          From{' '}
          <input
            type="date"
            value={query.from}
            onChange={(e) => setQuery({ ...query, from: e.target.value })}
            aria-label="From"
          />
        </label>
        <label>
          To{' '}
          <input
            type="date"
            value={query.to}
            onChange={(e) => setQuery({ ...query, to: e.target.value })}
            aria-label="To"
          />
        </label>
        <label>
          By{' '}
          <select
            value={query.granularity}
            aria-label="Granularity"
            onChange={(e) => setQuery({ ...query, granularity: e.target.value as 'day' | 'hour' })}
          >
            <option value="day">Day</option>
            <option value="hour">Hour</option>
          </select>
        </label>
        <label>
          Channel{' '}
          <select
            value={query.channel}
            aria-label="Channel"
            onChange={(e) => setQuery({ ...query, channel: e.target.value as ReportChannel })}
          >
            {(['all', 'voice', 'chat'] as const).map((ch) => (
              <option key={ch} value={ch}>
                {CHANNEL_LABELS[ch]}
              </option>
            ))}
          </select>
        </label>
        <FilterSelect
          label="Queue"
          all="All queues"
          value={query.queueId}
          options={queues}
          onChange={(v) => setQuery(withOptional(query, 'queueId', v))}
        />
        <FilterSelect
          label="Agent"
          all="All agents"
          value={query.agentId}
          options={agents}
          onChange={(v) => setQuery(withOptional(query, 'agentId', v))}
        />
        <button type="submit" className="button" disabled={busy}>
          {busy ? 'Loading…' : 'Show report'}
        </button>
      </form>
      {error && <Alert onDismiss={() => setError(null)}>{error}</Alert>}
      {view && (
        <>
          <div className="report-totals" aria-label="Totals">
            <Total label="Offered" value={String(view.totals.offered)} />
            <Total label="Answered" value={String(view.totals.answered)} />
            <Total
              label="Abandoned"
              value={`${view.totals.abandoned} (${view.totals.abandonedWithin10s} ≤ 10 s)`}
            />
            <Total label="Service level" value={pct(view.totals.serviceLevel)} />
            <Total label="ASA" value={secs(view.totals.avgSpeedOfAnswerSeconds)} />
            <Total label="AHT" value={secs(view.totals.avgHandleSeconds)} />
            {view.channel !== 'voice' && (
              <Total label="Chat messages" value={String(view.totals.chatMessages)} />
            )}
          </div>
          <div className="card report-chart">
            <h2>
              {CHANNEL_LABELS[view.channel]}: requests by {view.granularity}
            </h2>
            {chart && (
              <Chart type="bar" data={chart} options={CHART_OPTIONS} aria-label="Requests chart" role="img" />
            )}
          </div>
          <ChannelTable view={view} download={download} />
          <ReportTable
            title="By queue"
            table="queues"
            rows={view.queues}
            columns={QUEUE_COLUMNS}
            rowKey={(r) => r.queueId}
            download={download}
          />
          <ReportTable
            title="By agent"
            table="agents"
            rows={view.agents}
            columns={AGENT_COLUMNS}
            rowKey={(r) => r.agentId}
            download={download}
          />
          <ReportTable
            title={`By ${view.granularity}`}
            table="series"
            rows={view.series}
            columns={SERIES_COLUMNS}
            rowKey={(r) => r.start}
            download={download}
          />
          <div className="card">
            <h2>Not in the records</h2>
            <ul className="muted small">
              {view.missing.map((m) => (
                <li key={m}>{m}</li>
              ))}
            </ul>
          </div>
        </>
      )}
    </section>
  );
}

/** A filter of the report: every option, or one (its value '' means all). */
function FilterSelect(p: {
  label: string;
  all: string;
  value: string | undefined;
  options: { id: string; name: string }[];
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {p.label}{' '}
      <select value={p.value ?? ''} aria-label={p.label} onChange={(e) => p.onChange(e.target.value)}>
        <option value="">{p.all}</option>
        {p.options.map((o) => (
          <option key={o.id} value={o.id}>
            {o.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function Total({ label, value }: { label: string; value: string }) {
  return (
    <div className="card report-total">
      <div className="muted small">{label}</div>
      <div className="report-total-value">{value}</div>
    </div>
  );
}

function merge(old: { id: string; name: string }[], add: { id: string; name: string }[]) {
  const m = new Map(old.map((x) => [x.id, x]));
  for (const x of add) m.set(x.id, x);
  return [...m.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function withOptional(q: ReportQuery, key: 'queueId' | 'agentId', v: string): ReportQuery {
  const { [key]: _drop, ...rest } = q;
  return v ? { ...rest, [key]: v } : rest;
}

const CHART_OPTIONS = {
  responsive: true,
  maintainAspectRatio: false,
  animation: false as const,
  scales: {
    y: { beginAtZero: true, title: { display: true, text: 'Requests' }, ticks: { precision: 0 } },
    sl: {
      position: 'right' as const,
      min: 0,
      max: 100,
      grid: { drawOnChartArea: false },
      title: { display: true, text: 'Service level %' },
    },
  },
};

function chartData(v: ReportView) {
  const labels = v.series.map((b) => (v.granularity === 'day' ? b.label : b.label.slice(5)));
  return {
    labels,
    datasets: [
      {
        type: 'bar' as const,
        label: 'Answered',
        data: v.series.map((b) => b.answered),
        backgroundColor: '#2f7d5b',
        stack: 'requests',
      },
      {
        type: 'bar' as const,
        label: 'Abandoned',
        data: v.series.map((b) => b.abandoned),
        backgroundColor: '#c2453d',
        stack: 'requests',
      },
      {
        type: 'bar' as const,
        label: 'Other (waiting, ended unanswered otherwise)',
        data: v.series.map((b) => b.offered - b.answered - b.abandoned),
        backgroundColor: '#a7b0bd',
        stack: 'requests',
      },
      {
        type: 'line' as const,
        label: 'Service level %',
        data: v.series.map((b) => (b.serviceLevel === null ? null : Math.round(b.serviceLevel * 1000) / 10)),
        borderColor: '#2c5bd6',
        backgroundColor: '#2c5bd6',
        yAxisID: 'sl',
        spanGaps: true,
      },
    ],
  };
}
