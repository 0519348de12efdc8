/**
 * Issue 15 (customer app): "explain on the call". Where the step-up answer says the option
 * allows it, the step-up screen offers "Explain on the call instead", which queues the
 * request with verifyOnCall (the SDK passes it through); the waiting screen then says
 * plainly that the agent will ask security questions, only while the level is below the
 * option's (the view's requiredLevel): once the answers (or a step-up) reached it, it says
 * so instead, and the "Verified: ..." line names the factors really used (the app fetches
 * its authentication again when the request's level rose on the agent's side, once per
 * level). Without the option's consent the button is not there.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { AuthenticationView, CreateRequestResult } from '../../protocol/src/index.ts';
import type { AccessDevice } from '../../customer/sdk/index.ts';
import { AppStore, type MenuLeaf } from '../../customer/app/src/state/app-state.ts';
import { HelpStore } from '../../customer/app/src/state/help.ts';
import { StepUp } from '../../customer/app/src/screens/StepUp.tsx';
import { Waiting } from '../../customer/app/src/screens/Waiting.tsx';
import type { AppController } from '../../customer/app/src/controller.ts';
import { request } from '../support/fake-bridge.ts';

const OPTION: MenuLeaf = { id: 'payment-failed', label: 'A payment failed', level: 2 } as MenuLeaf;

function setup() {
  const calls: unknown[][] = [];
  const app = new AppStore();
  const queued = request({
    optionId: 'payment-failed',
    optionLabel: 'A payment failed',
    level: 1,
    verifyOnCall: true,
  });
  app.device = {
    commands: { stopped: false },
    createRequest: async (...args: unknown[]): Promise<CreateRequestResult> => {
      calls.push(args);
      const opts = args[3] as { verifyOnCall?: boolean } | undefined;
      if (opts?.verifyOnCall) {
        app.set({ request: queued });
        return { status: 'queued', request: queued };
      }
      return {
        status: 'step_up_required',
        optionId: 'payment-failed',
        requiredLevel: 2,
        currentLevel: 1,
        factorsNeeded: ['biometric'],
        verifyOnCall: true,
      };
    },
  } as unknown as AccessDevice;
  const help = new HelpStore(app);
  const controller = {
    explainOnCall: () => help.explainOnCall(),
    home: () => undefined,
  } as unknown as AppController;
  return { app, help, calls, controller };
}

describe('customer app: explain on the call instead of a step-up this phone cannot do', () => {
  it('the step-up screen offers it only where the option allows it; it queues with verifyOnCall', async () => {
    const { app, help, calls, controller } = setup();
    await help.chooseOption(OPTION, 'key-0123456789');
    const s = app.getState().screen;
    assert.equal(s.name, 'step-up');
    assert.equal(s.name === 'step-up' && s.verifyOnCall, true);
    const html = (verifyOnCall: boolean) =>
      renderToStaticMarkup(
        createElement(StepUp, {
          state: app.getState(),
          app: controller,
          option: OPTION,
          needed: ['biometric'],
          verifyOnCall,
        }),
      );
    assert.match(html(true), /Explain on the call instead/);
    assert.match(html(true), /the agent will ask you some security questions/);
    assert.doesNotMatch(html(false), /Explain on the call/);

    await help.explainOnCall();
    assert.deepEqual(calls.at(-1), ['payment-failed', 'key-0123456789', undefined, { verifyOnCall: true }]);
    assert.equal(app.getState().screen.name, 'waiting');
  });

  it('the waiting screen says plainly that the agent will ask security questions, until the level reaches the option’s', () => {
    const { app, controller } = setup();
    const render = () =>
      renderToStaticMarkup(createElement(Waiting, { state: app.getState(), app: controller }));
    app.set({ request: request({ level: 1, verifyOnCall: true }) });
    const asked = render();
    assert.match(asked, /The agent will ask you some security questions to confirm it’s you\./);
    assert.doesNotMatch(asked, /no security questions/);
    // The agent asked the questions and the level reached the option's: no more questions owed.
    app.set({ request: request({ level: 1, requiredLevel: 2, verifyOnCall: true }) });
    assert.match(render(), /The agent will ask you some security questions to confirm it’s you\./);
    app.set({ request: request({ level: 2, requiredLevel: 2, verifyOnCall: true, state: 'assigned' }) });
    const reached = render();
    assert.doesNotMatch(reached, /will ask you some security questions/);
    assert.match(reached, /You are verified for this request now: no more security questions\./);
    app.set({ request: request({ level: 2, verifyOnCall: false }) });
    const plain = render();
    assert.doesNotMatch(plain, /will ask you some security questions/);
    assert.match(plain, /no security questions/);
  });

  it('the level rose on the agent’s side: the app fetches its authentication once, the line names the answers', async () => {
    const { app, help, controller } = setup();
    const auth = (level: 1 | 2, kinds: string[]): AuthenticationView =>
      ({
        authenticationId: 'auth_1',
        customerId: 'c_alice_martin_01',
        deviceId: 'dev_1',
        level,
        factors: kinds.map((kind) => ({ kind, at: new Date().toISOString(), deviceId: null, detail: null })),
        createdAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      }) as AuthenticationView;
    let fetched = 0;
    (app.device as unknown as { me: () => Promise<unknown> }).me = async () => {
      fetched++;
      app.set({ authentication: auth(2, ['device', 'knowledge']) });
      return {};
    };
    app.set({ authentication: auth(1, ['device']) });
    const waiting = request({
      level: 1,
      requiredLevel: 2,
      verifyOnCall: true,
      state: 'assigned',
      agentName: 'Dana',
    });
    help.onRequest(waiting);
    assert.equal(fetched, 0, 'nothing to fetch while the levels agree');
    const raised = { ...waiting, level: 2 as const };
    help.onRequest(raised);
    help.onRequest(raised);
    assert.equal(fetched, 1, 'fetched once for the level the request reached');
    await new Promise((r) => setImmediate(r));
    const html = renderToStaticMarkup(createElement(Waiting, { state: app.getState(), app: controller }));
    assert.match(html, /Verified: this phone and your security answers\./);
    assert.doesNotMatch(html, /PIN or photo/);
  });
});
