import type { PriorityRule } from '../../../protocol/src/index.ts';

export interface RuleInput {
  queue: string;
  level: number;
  attributes: Record<string, unknown>;
  balance: number | null;
}

/**
 * Apply the priority rules in order: each matching rule adds its priority and may
 * move the request to another queue (later rules see the moved queue).
 */
export function applyRules(
  rules: readonly PriorityRule[],
  input: RuleInput,
): { queue: string; priority: number; matched: string[] } {
  let queue = input.queue;
  let priority = 0;
  const matched: string[] = [];
  for (const r of rules) {
    const w = r.when;
    if (w.attribute && String(input.attributes[w.attribute.name] ?? '') !== w.attribute.equals) continue;
    if (w.minLevel !== undefined && input.level < w.minLevel) continue;
    if (w.balanceAtLeast !== undefined && (input.balance === null || input.balance < w.balanceAtLeast))
      continue;
    if (w.queue !== undefined && queue !== w.queue) continue;
    priority += r.addPriority;
    if (r.moveToQueue) queue = r.moveToQueue;
    matched.push(r.id);
  }
  return { queue, priority, matched };
}

/** Estimated wait (seconds) for the request at `position` (1-based) in a queue. */
export function estimateWait(
  position: number,
  free: number,
  serving: number,
  handleSeconds: number,
): number | null {
  if (serving <= 0) return null;
  if (position <= free) return 0;
  // Busy agents are on average half-way through a call.
  return Math.max(0, Math.round((Math.ceil((position - free) / serving) - 0.5) * handleSeconds));
}

/** Factor kinds that take an authentication from `current` to at least `required` (each alone). */
export function factorsFor(
  required: number,
  current: number,
  hasDevice: boolean,
): ('pin' | 'photo' | 'biometric' | 'knowledge')[] {
  if (current >= required) return [];
  if (!hasDevice) return [];
  if (required >= 3) return ['biometric'];
  return ['pin', 'biometric', 'photo'];
}
