/**
 * The server lifecycles (protocol/src/lifecycles.ts) against the protocol's state enums:
 * every state has a row, terminal states are the ones the protocol calls final, every
 * state is reachable from a creation state, and the guard of each target lists exactly
 * the states that may move there.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertTransition,
  canTransition,
  COMMAND_LIFECYCLE,
  CommandState,
  IllegalTransition,
  isTerminal,
  REQUEST_LIFECYCLE,
  RequestState,
  sourcesOf,
  TRANSFER_LIFECYCLE,
  TransferState,
  type Lifecycle,
} from '../../protocol/src/index.ts';

const cases: [Lifecycle<string>, readonly string[], readonly string[]][] = [
  [REQUEST_LIFECYCLE, RequestState.options, ['completed', 'abandoned']],
  [COMMAND_LIFECYCLE, CommandState.options, ['done', 'declined', 'failed', 'expired', 'cancelled']],
  [TRANSFER_LIFECYCLE, TransferState.options, ['accepted', 'declined', 'cancelled', 'expired', 'completed']],
];

describe('server lifecycles as tables', () => {
  for (const [l, states, terminal] of cases) {
    it(`${l.name}: one row per protocol state, terminal states final, all reachable`, () => {
      assert.deepEqual(Object.keys(l.transitions).sort(), [...states].sort());
      for (const s of states) {
        assert.equal(isTerminal(l, s), terminal.includes(s), `${s} terminal?`);
        for (const to of l.transitions[s]!) assert.ok(states.includes(to), `${s} -> ${to} names a state`);
      }
      const seen = new Set(l.initial);
      for (let grew = true; grew;) {
        grew = false;
        for (const s of [...seen])
          for (const to of l.transitions[s]!)
            if (!seen.has(to)) {
              seen.add(to);
              grew = true;
            }
      }
      assert.deepEqual([...seen].sort(), [...states].sort(), 'every state reachable from a creation state');
    });

    it(`${l.name}: every pair is legal exactly when the table says so; sourcesOf is the guard`, () => {
      let legal = 0;
      let illegal = 0;
      for (const from of states)
        for (const to of states) {
          const ok = l.transitions[from]!.includes(to);
          assert.equal(canTransition(l, from, to), ok);
          if (ok) {
            legal++;
            assert.doesNotThrow(() => assertTransition(l, from, to));
          } else {
            illegal++;
            assert.throws(() => assertTransition(l, from, to), IllegalTransition);
          }
        }
      for (const to of states)
        assert.deepEqual(
          sourcesOf(l, to).sort(),
          states.filter((from) => l.transitions[from]!.includes(to)).sort(),
        );
      console.log(`${l.name}: ${legal} legal and ${illegal} illegal transitions`);
    });
  }

  it('the request lifecycle has no way out of a final state and none back to a creation-only state by accident', () => {
    assert.equal(canTransition(REQUEST_LIFECYCLE, 'completed', 'waiting'), false);
    assert.equal(canTransition(REQUEST_LIFECYCLE, 'abandoned', 'assigned'), false);
    assert.equal(
      canTransition(REQUEST_LIFECYCLE, 'scheduled', 'assigned'),
      false,
      'a booked slot is dispatched first',
    );
    assert.deepEqual(sourcesOf(REQUEST_LIFECYCLE, 'assigned').sort(), ['assigned', 'offered']);
    assert.deepEqual(sourcesOf(COMMAND_LIFECYCLE, 'shown').sort(), ['pending', 'shown']);
  });
});
