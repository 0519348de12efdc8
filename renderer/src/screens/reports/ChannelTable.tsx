import type { ReportChannel, ReportView } from '../../../../protocol/src/reports.ts';
import { ReportTable, type Column, type Table } from './SortableTable.tsx';

type ChannelRow = ReportView['channels'][number];

/** The words of each channel in the console. */
export const CHANNEL_LABELS: Record<ReportChannel, string> = {
  all: 'All channels',
  voice: 'Calls',
  chat: 'Chats',
};

const secs = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)} s`);
const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
/** Chats held at once, two decimals. */
export const atOnce = (v: number | null) => (v === null ? '—' : v.toFixed(2));

const CHANNEL_COLUMNS = [
  { key: 'channel', label: 'Channel', format: (v: ChannelRow['channel']) => CHANNEL_LABELS[v] },
  { key: 'offered', label: 'Offered' },
  { key: 'answered', label: 'Answered' },
  { key: 'abandoned', label: 'Abandoned' },
  { key: 'avgSpeedOfAnswerSeconds', label: 'ASA', format: secs },
  { key: 'serviceLevel', label: 'Service level', format: pct },
  { key: 'avgTalkSeconds', label: 'Avg talk', format: secs },
  { key: 'avgHandleSeconds', label: 'AHT', format: secs },
  { key: 'chatMessages', label: 'Chat messages' },
  { key: 'avgConcurrentChats', label: 'Chats at once', format: atOnce },
] as Column<ChannelRow>[];

/** The figures of each channel the report covers (calls and chats apart), and its CSV. */
export function ChannelTable({
  view,
  download,
}: {
  view: ReportView;
  download: (t: Table) => Promise<void>;
}) {
  return (
    <ReportTable
      title="By channel"
      table="channels"
      rows={view.channels}
      columns={CHANNEL_COLUMNS}
      rowKey={(r) => r.channel}
      download={download}
    />
  );
}
