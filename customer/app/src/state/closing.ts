import type { RequestView } from '../../../../protocol/src/index.ts';

/** What the customer reads when their request ends: what it was, who helped, how it ended. */
export function closingMessage(r: RequestView | null, holder: string | null, company: string | null): string {
  if (!r) return 'Your request has ended.';
  const what = `“${r.optionLabel}”`;
  const who = r.agentName ?? holder;
  if (r.state === 'completed')
    return `Your request ${what} is complete${who ? `: ${who} has closed it` : ''}. Thank you for contacting ${company ?? 'us'}.`;
  return `Your request ${what} has ended. If you still need help, choose “Get help” again.`;
}
