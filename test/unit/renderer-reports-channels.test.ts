/**
 * Issue 18 in the historical reports: the Reports screen shows calls and chats apart (a
 * "By channel" table with each channel's figures, chat messages and chats held at once) and
 * says which channel the report covers; its CSV button asks for the channel table.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { ReportView } from '../../protocol/src/reports.ts';
import { CHANNEL_LABELS, ChannelTable } from '../../renderer/src/screens/reports/ChannelTable.tsx';

const figures = (over: Partial<ReportView['totals']>): ReportView['totals'] => ({
  offered: 0,
  answered: 0,
  abandoned: 0,
  abandonedWithin10s: 0,
  avgAbandonSeconds: null,
  maxAbandonSeconds: null,
  avgSpeedOfAnswerSeconds: null,
  answeredWithinTarget: 0,
  serviceLevel: null,
  avgTalkSeconds: null,
  avgWrapUpSeconds: null,
  avgHandleSeconds: null,
  transfers: 0,
  callbacksBooked: 0,
  callbacksKept: 0,
  answeredAtLevel1: 0,
  answeredAtLevel2: 0,
  answeredAtLevel3: 0,
  deviceVerifications: 0,
  deviceVerifySeconds: 0,
  knowledgeChecks: 0,
  knowledgeSeconds: 0,
  chatMessages: 0,
  ...over,
});

const view = (channels: ReportView['channels'], channel: ReportView['channel'] = 'all'): ReportView =>
  ReportView.parse({
    timeZone: 'Europe/Paris',
    from: '2026-03-29T22:00:00.000Z',
    to: '2026-03-31T22:00:00.000Z',
    granularity: 'day',
    channel,
    totals: figures({}),
    channels,
    queues: [],
    agents: [],
    series: [],
    missing: [],
  });

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

describe('the Reports screen by channel', () => {
  it('shows calls and chats apart: talk and handling of each, chat messages, chats held at once', () => {
    const v = view([
      {
        channel: 'voice',
        ...figures({ offered: 1, answered: 1, avgTalkSeconds: 60, avgHandleSeconds: 60 }),
        avgConcurrentChats: null,
      },
      {
        channel: 'chat',
        ...figures({ offered: 2, answered: 2, avgTalkSeconds: 330, avgHandleSeconds: 330, chatMessages: 5 }),
        avgConcurrentChats: 1.53,
      },
    ]);
    const html = renderToStaticMarkup(createElement(ChannelTable, { view: v, download: async () => {} }));
    const rows = [...html.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => text(m[1]!));
    assert.match(rows[0]!, /Channel .*Offered .*Avg talk .*AHT .*Chat messages .*Chats at once/);
    assert.equal(rows[1], 'Calls 1 1 0 — — 60.0 s 60.0 s 0 —');
    assert.equal(rows[2], 'Chats 2 2 0 — — 330.0 s 330.0 s 5 1.53');
    assert.match(text(html), /Download CSV \(by channel\)/);
  });

  it('a report of one channel has its row only; the labels name each channel', () => {
    const v = view([{ channel: 'chat', ...figures({ offered: 2 }), avgConcurrentChats: null }], 'chat');
    const html = renderToStaticMarkup(createElement(ChannelTable, { view: v, download: async () => {} }));
    assert.doesNotMatch(html, /Calls/);
    assert.match(text(html), /Chats 2 0 0/);
    assert.deepEqual(CHANNEL_LABELS, { all: 'All channels', voice: 'Calls', chat: 'Chats' });
  });
});
