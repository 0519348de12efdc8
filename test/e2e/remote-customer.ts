/**
 * A verified customer for console e2e tests of remote control: a simulated access device
 * (test/support/device.ts: device key, PIN, a software WebAuthn authenticator, photos)
 * with an open request, on the device WebSocket. Every `command` frame is verified the
 * way the SDK must (CommandGuard: authority JWKS, binding, expiry, single use, order),
 * acknowledged, and answered like a customer who taps "OK": the fingerprint step-up
 * through the WebAuthn factor routes, a real PNG for a photo or a screenshot, the
 * transaction signed with the device key, typed answers. What it saw is recorded so a
 * test can prove, for instance, that nobody asked it to verify again after a transfer.
 */
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { confirmChallenge, type CommandClaims } from '../../protocol/src/index.ts';
import { DeviceControl, TestDevice } from '../support/device.ts';
import { api, bearer } from '../support/http.ts';
import { SoftwareAuthenticator } from '../support/webauthn-authenticator.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

/** A small real PNG (a head-and-shoulders silhouette on a coloured background). */
export function portraitPng(background: [number, number, number], size = 96): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const raw = Buffer.alloc((size * 3 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const head = (x - size / 2) ** 2 + (y - size * 0.38) ** 2 < (size * 0.18) ** 2;
      const body = (x - size / 2) ** 2 / (size * 0.34) ** 2 + (y - size) ** 2 / (size * 0.36) ** 2 < 1;
      const rgb: [number, number, number] = head || body ? [72, 84, 99] : background;
      raw.set(rgb, y * (size * 3 + 1) + 1 + x * 3);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export interface SeenCommand {
  claims: CommandClaims;
  /** What the device did: executed and answered, or refused (CommandGuard's reason). */
  outcome: string;
}

export class RemoteCustomer {
  readonly seen: SeenCommand[] = [];
  readonly refused: string[] = [];
  /** Typed answers for text commands, by input type. */
  answers: Record<string, string> = {
    tracking: 'JD014600003828',
    email: 'alice@example.com',
    free: 'Lost it',
  };
  private socket!: TestSocket;
  private frames!: FrameLog;
  private running = true;
  private loop: Promise<void> = Promise.resolve();
  ctl!: DeviceControl;
  requestId = '';
  sessionId = '';

  private constructor(
    readonly base: string,
    readonly device: TestDevice,
    readonly authenticator: SoftwareAuthenticator,
  ) {}

  /**
   * Enrol `customerId` (PIN, fingerprint), authenticate with the device key and, for
   * level 2, the PIN (with an enrolment photo), open a request for `optionId` and
   * listen for commands.
   */
  static async start(
    base: string,
    adminToken: string,
    opts: { customerId: string; pin: string; optionId: string; origin: string; level: 1 | 2 },
  ): Promise<RemoteCustomer> {
    const code = await api(base, 'issueEnrolmentCode', {
      params: { customerId: opts.customerId },
      headers: bearer(adminToken),
    });
    assert.equal(code.status, 201, JSON.stringify(code.body));
    const d = await new TestDevice(base).enrolAndAuthenticate(code.body.code);
    const authr = new SoftwareAuthenticator({ origin: opts.origin, rpId: new URL(opts.origin).hostname });
    const reg = await d.api('webauthnRegistrationOptions');
    const done = await d.api('webauthnRegister', { json: { response: authr.register(reg.body) } });
    assert.equal(done.status, 201, JSON.stringify(done.body));
    assert.equal((await d.api('setPin', { json: { pin: opts.pin } })).status, 200);
    if (opts.level === 2) {
      const photo = await d.api('photo', {
        query: { purpose: 'enrolment' },
        raw: portraitPng([214, 222, 232]),
        contentType: 'image/png',
      });
      assert.equal(photo.status, 201, JSON.stringify(photo.body));
      const pin = await d.api('pinFactor', { json: { pin: opts.pin } });
      assert.equal(pin.body.level, 2, JSON.stringify(pin.body));
    }
    const q = await d.api('createRequest', { json: { optionId: opts.optionId } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const c = new RemoteCustomer(base, d, authr);
    c.requestId = q.body.request.requestId;
    c.sessionId = q.body.request.sessionId;
    c.ctl = new DeviceControl(d).follow(q.body.request);
    await c.ctl.guard.loadKeys();
    c.socket = await TestSocket.open(base);
    c.socket.send(await d.wsHello(c.sessionId));
    assert.equal((await c.socket.next()).type, 'welcome');
    c.frames = new FrameLog(c.socket);
    c.loop = c.run();
    return c;
  }

  get authenticationId(): string {
    return this.device.authentication.authenticationId;
  }

  /** Commands of this kind the device executed. */
  executed(kind: string): SeenCommand[] {
    return this.seen.filter((s) => s.claims.cmd.kind === kind);
  }

  private async run(): Promise<void> {
    while (this.running) {
      let f: any;
      try {
        f = await this.frames.take((x) => x.type === 'command', 500);
      } catch {
        continue; // nothing within 500 ms: look again (bounded by `stop()`)
      }
      const v = await this.ctl.guard.check(f.jws);
      if (v.verdict === 'refuse') {
        this.refused.push(`${v.reason}: ${v.detail}`);
        continue;
      }
      const claims = v.claims;
      const seen: SeenCommand = { claims, outcome: 'pending' };
      this.seen.push(seen);
      if (v.verdict === 'update') {
        seen.outcome = 'menu revised on screen';
        continue;
      }
      try {
        seen.outcome = await this.answer(claims);
      } catch (e) {
        seen.outcome = `error: ${(e as Error).message}`;
      }
    }
  }

  private async answer(c: CommandClaims): Promise<string> {
    const id = c.cid;
    const ack = await this.ctl.ack(id);
    if (ack.status !== 200) return `ack ${ack.status} ${ack.body?.code}`;
    const cmd = c.cmd;
    const done = async (result: unknown) => {
      const r = await this.ctl.answer(id, { outcome: 'done', result } as any);
      return r.status === 200 ? 'done' : `refused ${r.status} ${r.body?.code}`;
    };
    switch (cmd.kind) {
      case 'verify': {
        if (cmd.payload.factor === 'biometric') {
          const options = await this.device.api('webauthnAssertionOptions');
          const step = await this.device.api('webauthnFactor', {
            json: { response: this.authenticator.assert(options.body) },
          });
          if (step.status !== 200) return `step-up ${step.status}`;
        } else return 'declined (no PIN typed in this simulation)';
        return done({ kind: 'verify', factor: cmd.payload.factor });
      }
      case 'photo':
      case 'screenshot': {
        const r = await this.ctl.image(
          id,
          portraitPng(cmd.kind === 'photo' ? [226, 219, 206] : [200, 230, 210]),
          'image/png',
        );
        return r.status === 200 ? 'done' : `image ${r.status} ${r.body?.code}`;
      }
      case 'confirm': {
        // The fingerprint over exactly this transaction (dynamic linking), and the device key's signature.
        const p = cmd.payload;
        const options = await this.device.api('webauthnAssertionOptions');
        if (options.status !== 200) return `no fingerprint ${options.status}`;
        const challenge = await confirmChallenge({
          commandId: c.cid,
          transaction: p.transaction,
          account: p.account!,
          nonce: p.nonce!,
        });
        const assertion = this.authenticator.assert({ ...options.body, challenge });
        return done({
          kind: 'confirm',
          signature: await this.ctl.signTransaction(c),
          factor: { kind: 'biometric', assertion: assertion as never },
        });
      }
      case 'text':
        return done({ kind: 'text', value: this.answers[cmd.payload.input]! });
      case 'menu':
        return done({ kind: 'menu', itemId: cmd.payload.items[0]!.id, revision: c.rev });
      case 'form': {
        const values: Record<string, string | number | boolean> = {};
        for (const f of cmd.payload.fields)
          values[f.id] =
            f.type === 'checkbox'
              ? true
              : f.type === 'number'
                ? 1
                : f.type === 'select'
                  ? f.options[0]!.id
                  : 'x';
        return done({ kind: 'form', values });
      }
      case 'navigate':
        return done({ kind: 'navigate', screen: cmd.payload.screen });
      case 'end':
        return done({ kind: 'end' });
    }
  }

  /** The customer's "stop all" / "allow again". */
  async stopAll(): Promise<void> {
    const r = await this.ctl.stopAll();
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }

  async resume(): Promise<void> {
    const r = await this.device.api('resumeControl', { params: { requestId: this.requestId } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.socket.close();
  }
}
