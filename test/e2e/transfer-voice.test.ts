/**
 * Voice follows a transfer, end to end: the real customer app (1 kHz microphone)
 * and two consoles in browser mode (Dana and Sam, 440 Hz) on the authority's
 * embedded SIP edge. Dana calls the verified device, the customer answers, they hear
 * each other. Dana transfers blind to Sam: her call ends at once (her page keeps no
 * live remote track), and the phone says "Connecting you to Sam Patel…", never "Call
 * ended". Sam accepts, clicks "Call customer": the phone answers by itself (a new
 * ticket for the same request and device session under Sam's higher fence: no ring,
 * no second answer, no verification asked again), the answer's device proof is checked
 * ("Voice from the verified device" on Sam's panel), the phone says "You are now with
 * Sam Patel", the two hear each other, and the panel's chain of custody reads Dana
 * then Sam. The gap in audio on the phone (last tone from Dana's leg to the first from
 * Sam's) is printed. The warm transfer ends the same way.
 *
 * Then a supervisor's take-over and reassign, one call through both: Dana's call with
 * Alice; Morgan Lee takes it over from the board (confirming what happens: Dana leaves,
 * Alice stays connected), Dana's page keeps no live remote track (media elements and
 * RTCPeerConnections), the phone says "Connecting you to Morgan Lee…", Morgan calls
 * and the phone answers by itself; Morgan reassigns the request to Sam from the board,
 * his own call ends, Sam accepts the offer and calls, answered the same way. Tones both
 * ways before and after each hand-over, never "Call ended", never a second answer; the
 * gap of each hand-over and the p95 over all of them are printed (the gap includes the
 * new holder's accept and "Call customer" clicks).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { launchChromium, newTestPage, type TestPage } from '../support/browser.ts';
import { staffLogin } from '../support/http.ts';
import {
  assertNoLiveRemoteTrack,
  detectSilence,
  detectTone,
  KEEP_PEER_CONNECTIONS,
  liveRemoteTracks,
  startToneLog,
  toneGap,
  writeToneWav,
} from './audio-harness.ts';
import { ensureRendererBuilt, rendererDir, signIn, VIEWPORT } from './console-harness.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

describe('voice follows a transfer (blind, warm), a take-over and a reassign: the new holder continues the call on the same verified device', () => {
  let app: AppAuthority;
  let customerBrowser: Browser;
  let consoleBrowser: Browser;
  const modes: BrowserMode[] = [];
  const dirs: string[] = [];
  let samId: string;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-transfer-voice-'));
    dirs.push(dir);
    writeToneWav(join(dir, 'tone-1000.wav'), 1000, 60);
    writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
    const media = (wav: string) => [
      '--allow-loopback-in-peer-connection',
      `--use-file-for-fake-audio-capture=${join(dir, wav)}`,
    ];
    [app, customerBrowser, consoleBrowser] = await Promise.all([
      startAppAuthority({ offerTimeoutSeconds: 120 }),
      launchChromium({ extraArgs: media('tone-1000.wav') }),
      launchChromium({ extraArgs: media('tone-440.wav') }),
      ensureRendererBuilt(),
    ]);
    // Sam's demo shift is 08-20 UTC: no schedule means always on shift, whenever CI runs.
    const sam = await staffLogin(app.a.url, 'agent2', 'demo-agent-2');
    samId = sam.staffId;
    await app.a.services.pipeline.agents.setSchedule(sam.staffId, []);
  });
  after(async () => {
    const measured = gaps.filter((g) => g !== null).sort((x, y) => x - y);
    if (measured.length)
      console.log(
        `# audio gap p95 over ${measured.length} hand-overs (nearest rank): ${Math.round(measured[Math.ceil(0.95 * measured.length) - 1]!)} ms`,
      );
    await customerBrowser?.close();
    await consoleBrowser?.close();
    for (const m of modes) await m.close();
    await app?.a.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const openConsole = async (name: string, username: string, password: string): Promise<TestPage> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-transfer-voice-console-'));
    dirs.push(dataDir);
    const mode = await startBrowserMode({ authorityUrl: app.a.url, dataDir, rendererDir });
    modes.push(mode);
    const t = await newTestPage(consoleBrowser, name, { viewport: VIEWPORT, permissions: ['microphone'] });
    await t.page.addInitScript(KEEP_PEER_CONNECTIONS);
    await t.page.goto(mode.launchUrl);
    await signIn(t.page, username, password);
    await t.page.getByTestId('presence').waitFor();
    return t;
  };

  const hearEachOther = async (agent: Page, customer: Page, who: string) => {
    const [atAgent, atCustomer] = await Promise.all([
      detectTone(agent, 'audio[data-testid="remote-audio"]'),
      detectTone(customer, '#vd-remote-audio'),
    ]);
    assert.ok(atAgent.hz && Math.abs(atAgent.hz - 1000) < 15, `${who} hears: ${JSON.stringify(atAgent)}`);
    assert.ok(
      atCustomer.hz && Math.abs(atCustomer.hz - 440) < 15,
      `customer hears ${who}: ${JSON.stringify(atCustomer)}`,
    );
  };

  /** Sam on a break so the customer's request goes to Dana; the customer asks for help; Dana accepts. */
  const danaTakesTheRequest = async (pa: Page, pb: Page, pc: Page, customer: string) => {
    await pb.getByLabel('Change presence').selectOption('break:lunch');
    await pa.getByLabel('Change presence').selectOption('available');
    await pc.getByRole('button', { name: 'Get help' }).click();
    await pc.getByRole('button', { name: /^Something else/ }).click();
    await pa
      .getByRole('region', { name: new RegExp(customer) })
      .filter({ hasText: 'New request' })
      .waitFor();
    await pa.keyboard.press('Control+Enter');
    await pa.getByTestId('call-status').getByText('Ready to call').waitFor();
  };

  /** The agent calls; the app rings as a verified call from them; answered; proof checked; tones both ways. */
  const callAndHear = async (agent: Page, agentName: string, customer: Page) => {
    await agent.getByRole('button', { name: 'Call customer' }).click();
    await customer
      .getByRole('heading', { name: `Verified call from Northwind Bank — ${agentName}` })
      .waitFor();
    await customer.getByRole('button', { name: 'Answer call' }).click();
    await agent
      .getByTestId('voice-state')
      .getByText(/^Voice from the verified device/)
      .waitFor();
    await hearEachOther(agent, customer, agentName.split(' ')[0]!);
  };

  /** Audio gaps on the phone at each hand-over measured (ms; null: the tone never came back). */
  const gaps: (number | null)[] = [];
  /** Stop the phone's tone log, print the gap of this hand-over and keep it for the p95. */
  const printGap = async (customer: Page, how: string, from: string, to: string) => {
    const gap = await toneGap(customer);
    gaps.push(gap);
    console.log(
      `# ${how}: audio gap on the phone (last tone from ${from}'s leg to first from ${to}'s): ${gap === null ? 'none measured' : `${Math.round(gap)} ms`}`,
    );
  };

  /** Runs in the phone's page: remember every screen title shown from now on. */
  const watchTitles = (customer: Page) =>
    customer.evaluate(`(() => {
      const seen = new Set();
      window.__vdTitles = seen;
      const note = () => document.querySelectorAll('h1, h2').forEach((h) => seen.add(h.textContent.trim()));
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
      note();
    })()`);
  const titlesSeen = async (customer: Page) =>
    (await customer.evaluate('[...window.__vdTitles]')) as string[];

  /** The new holder calls; the phone answers by itself (no ring); proof checked; tones both ways. */
  const continuedCall = async (agent: Page, agentName: string, customer: Page) => {
    await agent.getByRole('button', { name: 'Call customer' }).click();
    await customer.getByRole('heading', { name: `On a call with ${agentName}` }).waitFor();
    await customer.getByTestId('call-continued').getByText(`You are now with ${agentName}`).waitFor();
    await agent
      .getByTestId('voice-state')
      .getByText(/^Voice from the verified device/)
      .waitFor();
    await hearEachOther(agent, customer, agentName.split(' ')[0]!);
  };

  /** The phone never said "Call ended" and never rang for the new holder. */
  const neverEndedNorRang = async (customer: Page, agentName: string) => {
    const titles = await titlesSeen(customer);
    assert.ok(
      !titles.includes('Call ended'),
      `the phone never shows "Call ended": ${JSON.stringify(titles)}`,
    );
    assert.ok(
      !titles.includes(`Verified call from Northwind Bank — ${agentName}`),
      `the phone never rang for ${agentName}: ${JSON.stringify(titles)}`,
    );
    assert.ok(titles.includes(`Connecting you to ${agentName}…`), JSON.stringify(titles));
  };

  it('Dana calls, transfers blind to Sam, the phone stays connected and Sam continues the call without any re-verification', async () => {
    const phone = await openPhone(customerBrowser, app, 'transfer-voice-customer');
    const dana = await openConsole('transfer-voice-dana', 'agent1', 'demo-agent-1');
    const sam = await openConsole('transfer-voice-sam', 'agent2', 'demo-agent-2');
    const [pa, pb, pc] = [dana.page, sam.page, phone.page];
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');
      await danaTakesTheRequest(pa, pb, pc, 'Bob Okafor');

      // Dana's call.
      await callAndHear(pa, 'Dana Reyes', pc);
      const factorsBefore = await pa.getByRole('list', { name: 'Verification factors' }).textContent();
      await dana.screenshot('1-dana-on-call');
      await watchTitles(pc);
      await startToneLog(pc, '#vd-remote-audio');

      // Blind transfer to Sam (available again).
      await pb.getByLabel('Change presence').selectOption('available');
      await pa.getByRole('button', { name: 'Transfer…' }).click();
      const dialog = pa.getByRole('form', { name: 'Transfer Bob Okafor' });
      await dialog.getByLabel('Blind: hand over now').check();
      await dialog.getByLabel('An agent').check();
      await dialog.getByLabel('Agent', { exact: true }).selectOption(samId);
      await dialog.getByRole('button', { name: 'Transfer now' }).click();
      await pa.getByText(/Bob Okafor is now with Sam Patel/).waitFor();
      // Dana's media is cut at the move; the phone stays with the request.
      await pa.getByTestId('softphone-status').getByText('ready').waitFor();
      await assertNoLiveRemoteTrack(pa, 'Dana');
      await pc.getByRole('heading', { name: 'Connecting you to Sam Patel…' }).waitFor();
      await phone.t.screenshot('2-customer-connecting-to-sam');

      const offer = pb.getByRole('region', { name: /Bob Okafor/ }).filter({ hasText: 'New request' });
      await offer.waitFor();
      await offer.getByRole('button', { name: /^Accept/ }).click();
      await pb.getByTestId('call-status').getByText('Ready to call').waitFor();
      await pc.getByText(/You are now with Sam Patel/).waitFor();
      // "Call customer" stays Sam's action.
      await sam.screenshot('2b-sam-ready-to-call');

      // Sam calls the same device: answered by the phone itself, without any step-up.
      await continuedCall(pb, 'Sam Patel', pc);
      await phone.t.screenshot('2c-customer-now-with-sam');
      await printGap(pc, 'blind transfer', 'Dana', 'Sam');
      await neverEndedNorRang(pc, 'Sam Patel');
      assert.equal(
        await pb.getByRole('list', { name: 'Verification factors' }).textContent(),
        factorsBefore,
        'the same factors with their original times',
      );
      const chain = await pb
        .getByRole('list', { name: 'Chain of custody' })
        .getByRole('listitem')
        .allTextContents();
      assert.equal(chain.length, 2, JSON.stringify(chain));
      assert.match(chain[0]!, /^Dana Reyes/);
      assert.match(chain[1]!, /^Sam Patel/);
      await sam.screenshot('3-sam-on-call-custody');
      assert.equal(
        await pc.getByRole('heading', { name: /Confirm it.s you|fingerprint|Enter your PIN/i }).count(),
        0,
        'the customer was not asked to verify again',
      );
      await pc.getByRole('button', { name: 'Hang up' }).click();
      await pb.getByTestId('call-status').getByText('Ready to call').waitFor();
      // Sam completes, so he is free for the warm run.
      await pb.getByRole('button', { name: 'Complete request' }).click();
      await pb
        .getByRole('region', { name: /Bob Okafor/ })
        .filter({ hasText: 'In progress' })
        .waitFor({ state: 'detached' });
      assert.deepEqual([dana.consoleErrors, sam.consoleErrors, phone.t.consoleErrors], [[], [], []]);
    } finally {
      await dana.close();
      await sam.close();
      await phone.t.close();
    }
  });

  it('warm: Dana holds the customer and consults Sam on a second line; Sam accepts and calls the same device', async () => {
    const phone = await openPhone(customerBrowser, app, 'transfer-voice-warm-customer');
    const dana = await openConsole('transfer-voice-warm-dana', 'agent1', 'demo-agent-1');
    const sam = await openConsole('transfer-voice-warm-sam', 'agent2', 'demo-agent-2');
    const [pa, pb, pc] = [dana.page, sam.page, phone.page];
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_chen_wei_00003'), '975310');
      await danaTakesTheRequest(pa, pb, pc, 'Chen Wei');
      await callAndHear(pa, 'Dana Reyes', pc);
      await watchTitles(pc);

      // Warm transfer: the customer on hold (silence), a consult call on the second line.
      await pb.getByLabel('Change presence').selectOption('available');
      await pa.getByRole('button', { name: /^Hold/ }).click();
      await pa
        .getByTestId('call-status')
        .getByText(/^On hold/)
        .waitFor();
      assert.equal(await detectSilence(pc, '#vd-remote-audio'), true, 'the customer hears nothing on hold');
      await pa.getByRole('button', { name: 'Transfer…' }).click();
      const dialog = pa.getByRole('form', { name: 'Transfer Chen Wei' });
      await dialog.getByLabel('Warm: talk to them first').check();
      await dialog.getByLabel('Agent', { exact: true }).selectOption(samId);
      await dialog.getByRole('button', { name: 'Start warm transfer' }).click();
      const consult = pa.getByRole('region', { name: 'Warm transfer to Sam Patel' });
      const offer = pb.getByRole('region', { name: 'Transfer offer from Dana Reyes' });
      await offer.getByRole('heading', { name: /Chen Wei/ }).waitFor();
      await consult.getByRole('button', { name: 'Call Sam Patel' }).click();
      const ringing = pb.getByRole('alertdialog', { name: 'Incoming call' });
      await ringing.getByText(/Incoming call from Dana Reyes/).waitFor();
      await ringing.getByRole('button', { name: 'Answer' }).click();
      await pb
        .getByRole('group', { name: 'Call with a colleague' })
        .getByText(/On a call with/)
        .waitFor();
      // The two agents hear each other (both consoles' microphones play 440 Hz).
      const [atDana, atSam] = await Promise.all([
        detectTone(pa, 'audio[data-testid="remote-audio"]'),
        detectTone(pb, 'audio[data-testid="remote-audio"]'),
      ]);
      assert.ok(atDana.hz && Math.abs(atDana.hz - 440) < 15, `Dana hears Sam: ${JSON.stringify(atDana)}`);
      assert.ok(atSam.hz && Math.abs(atSam.hz - 440) < 15, `Sam hears Dana: ${JSON.stringify(atSam)}`);
      await dana.screenshot('4-warm-consulting');

      // Sam accepts: ownership moves, Dana's call with the customer and the consult leg end;
      // Sam calls the customer, who joins now.
      await offer.getByRole('button', { name: 'Accept transfer' }).click();
      await pb
        .getByRole('region', { name: /Chen Wei/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      // The consult leg ends by itself on both consoles when the transfer is accepted.
      await pb.getByRole('group', { name: 'Call with a colleague' }).waitFor({ state: 'detached' });
      await pb.getByTestId('call-status').getByText('Ready to call').waitFor();
      await pa.getByTestId('softphone-status').getByText('ready').waitFor();
      await assertNoLiveRemoteTrack(pa, 'Dana');
      await pc.getByRole('heading', { name: 'Connecting you to Sam Patel…' }).waitFor();
      await pc.getByText(/You are now with Sam Patel/).waitFor();
      await continuedCall(pb, 'Sam Patel', pc);
      await neverEndedNorRang(pc, 'Sam Patel');
      await phone.t.screenshot('5b-warm-customer-now-with-sam');
      const chain = await pb
        .getByRole('list', { name: 'Chain of custody' })
        .getByRole('listitem')
        .allTextContents();
      assert.match(chain[1] ?? '', /^Sam Patel \(agent\)warm transfer/);
      await sam.screenshot('5-warm-sam-on-call');
      await pc.getByRole('button', { name: 'Hang up' }).click();
      await pb.getByTestId('call-status').getByText('Ready to call').waitFor();
      // Sam completes, so he is free for the reassign.
      await pb.getByRole('button', { name: 'Complete request' }).click();
      await pb
        .getByRole('region', { name: /Chen Wei/ })
        .filter({ hasText: 'In progress' })
        .waitFor({ state: 'detached' });
      assert.deepEqual([dana.consoleErrors, sam.consoleErrors, phone.t.consoleErrors], [[], [], []]);
    } finally {
      await dana.close();
      await sam.close();
      await phone.t.close();
    }
  });

  it('take-over, then reassign: Morgan takes over Dana’s call from the board and calls, then reassigns it to Sam, who accepts and calls; the phone stays on the line throughout', async () => {
    const phone = await openPhone(customerBrowser, app, 'takeover-voice-customer');
    const dana = await openConsole('takeover-voice-dana', 'agent1', 'demo-agent-1');
    const sam = await openConsole('takeover-voice-sam', 'agent2', 'demo-agent-2');
    const [pa, pb, pc] = [dana.page, sam.page, phone.page];
    let morgan: TestPage | null = null;
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '975310');
      await danaTakesTheRequest(pa, pb, pc, 'Alice Martin');
      await callAndHear(pa, 'Dana Reyes', pc);
      // The supervisor signs in once Dana holds the request (nothing waits to be offered to him).
      morgan = await openConsole('takeover-voice-morgan', 'supervisor', 'demo-supervisor');
      const pm = morgan.page;
      await watchTitles(pc);
      await startToneLog(pc, '#vd-remote-audio');

      // Take-over from the board, confirmed like a person would, told the customer stays connected.
      await pm.getByRole('button', { name: 'Board' }).click();
      const requests = pm
        .getByRole('table')
        .filter({ has: pm.getByRole('columnheader', { name: 'Priority' }) });
      const row = requests.getByRole('row', { name: /Alice Martin/ });
      await row.getByRole('button', { name: 'Take over Alice Martin' }).waitFor();
      await morgan.screenshot('6-takeover-board');
      let confirmText = '';
      pm.once('dialog', (d) => {
        confirmText = d.message();
        void d.accept();
      });
      await row.getByRole('button', { name: 'Take over Alice Martin' }).click();
      await pm
        .getByRole('region', { name: /Alice Martin/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      assert.match(
        confirmText,
        /^Take over Alice Martin from Dana Reyes\? Dana Reyes leaves the call; Alice Martin stays connected/,
      );
      // Dana's call ends at once; the phone stays with the request.
      await pa.getByText('Morgan Lee took over Alice Martin. No wrap-up is owed.').waitFor();
      await pa.getByTestId('softphone-status').getByText('ready').waitFor();
      await assertNoLiveRemoteTrack(pa, 'Dana');
      await dana.screenshot('6b-takeover-dana-released');
      await pc.getByRole('heading', { name: 'Connecting you to Morgan Lee…' }).waitFor();
      await phone.t.screenshot('6c-takeover-customer-connecting-to-morgan');
      await pm.getByTestId('call-status').getByText('Ready to call').waitFor();

      // Morgan calls the same device: answered by the phone itself.
      await continuedCall(pm, 'Morgan Lee', pc);
      await printGap(pc, 'take-over', 'Dana', 'Morgan');
      await neverEndedNorRang(pc, 'Morgan Lee');
      await phone.t.screenshot('6d-takeover-customer-now-with-morgan');
      const chain = await pm
        .getByRole('list', { name: 'Chain of custody' })
        .getByRole('listitem')
        .allTextContents();
      assert.match(chain.at(-1) ?? '', /^Morgan Lee \(supervisor\)taken over by a supervisor/);
      await morgan.screenshot('6e-takeover-morgan-on-call');
      await assertNoLiveRemoteTrack(pa, 'Dana');

      // Reassign to Sam (available again) from the board, while Morgan talks to the customer.
      await startToneLog(pc, '#vd-remote-audio');
      await pb.getByLabel('Change presence').selectOption('available');
      await pm.getByRole('button', { name: 'Board' }).click();
      await row
        .getByRole('combobox', { name: 'Reassign Alice Martin to' })
        .selectOption({ label: 'Sam Patel' });
      await row.getByRole('button', { name: 'Reassign Alice Martin' }).click();
      await pm.getByText('Alice Martin is offered to Sam Patel.').waitFor();
      await morgan.screenshot('7-reassign-board');
      await pm.getByRole('button', { name: 'Desk' }).click();
      await pm
        .getByText(/Morgan Lee reassigned Alice Martin to Sam Patel|Alice Martin moved on to Sam Patel/)
        .waitFor();
      await pm.getByTestId('softphone-status').getByText('ready').waitFor();
      await assertNoLiveRemoteTrack(pm, 'Morgan');
      await pc.getByRole('heading', { name: 'Connecting you to Sam Patel…' }).waitFor();
      await phone.t.screenshot('7b-reassign-customer-connecting-to-sam');
      const offer = pb.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
      await offer
        .getByTestId('arrived-from')
        .getByText('Reassigned to you by Morgan Lee', { exact: false })
        .waitFor();
      await offer.getByRole('button', { name: /^Accept/ }).click();
      await pb.getByTestId('call-status').getByText('Ready to call').waitFor();
      await continuedCall(pb, 'Sam Patel', pc);
      await printGap(pc, 'reassign', 'Morgan', 'Sam');
      await neverEndedNorRang(pc, 'Sam Patel');
      await phone.t.screenshot('7c-reassign-customer-now-with-sam');
      await sam.screenshot('7d-reassign-sam-on-call');
      assert.deepEqual(
        [await liveRemoteTracks(pa), await liveRemoteTracks(pm)],
        [[], []],
        'no live remote track on Dana’s or Morgan’s page while Sam talks to the customer',
      );
      assert.equal(
        await pc.getByRole('heading', { name: /Confirm it.s you|fingerprint|Enter your PIN/i }).count(),
        0,
        'the customer was not asked to verify again',
      );
      await pc.getByRole('button', { name: 'Hang up' }).click();
      await pb.getByTestId('call-status').getByText('Ready to call').waitFor();
      assert.deepEqual(
        [dana.consoleErrors, sam.consoleErrors, morgan.consoleErrors, phone.t.consoleErrors],
        [[], [], [], []],
      );
    } finally {
      await dana.close();
      await sam.close();
      await morgan?.close();
      await phone.t.close();
    }
  });
});
