import {
  COMMAND_LEVELS,
  FINAL_COMMAND_STATES,
  type CommandKind,
  type CommandView,
  type DeviceCommand,
} from '../../../protocol/src/device-control.ts';
import { errorCode, errorText, type ConsoleBridge } from '../bridge/types.ts';
import { LEVEL_TEXT } from '../format.ts';
import { sentence } from './agent.ts';
import type { PhotoState } from './panel.ts';
import { Store } from './store.ts';

/** The request remote control acts on: the active one, at the fence this agent holds it. */
export interface RemoteControlTarget {
  requestId: string;
  fence: number;
  level: number;
  customerName: string;
}

export interface RemoteControlState {
  target: RemoteControlTarget | null;
  /** Commands of this request, oldest first. */
  commands: readonly CommandView[];
  control: { stopped: boolean; at: string | null };
  loading: boolean;
  /** The kind being sent. */
  sending: CommandKind | null;
  /** The command being edited or withdrawn. */
  busy: string | null;
  /** The last refusal, in words ("This request is no longer yours…"). */
  error: string | null;
  /** Photos and screenshots the device sent, by image id (data: URLs). */
  images: Readonly<Record<string, PhotoState>>;
}

const OPEN = new Set(['pending', 'shown']);
export const isOpen = (c: CommandView): boolean => OPEN.has(c.state);
const rank = (c: CommandView) => (OPEN.has(c.state) ? (c.state === 'pending' ? 0 : 1) : 2);

/** Why the authority refused a command, for the agent (the authority's own words follow). */
const REFUSALS: Record<string, string> = {
  not_assigned: 'This request is no longer yours: the command was refused',
  stale_fence: 'This request moved on (new fencing number): the command was refused',
  control_stopped: 'The customer stopped remote control: the command was refused',
  level_too_low: 'The customer’s verification level is too low for this action',
  session_ended: 'The customer’s session has ended',
  factor_unavailable: 'The customer has not set up that factor on this device',
  command_final: 'The device already answered this command',
  command_expired: 'This command has expired',
  menu_revised: 'The menu changed meanwhile',
};

export function refusalText(e: unknown): string {
  const code = errorCode(e);
  const said = sentence(errorText(e));
  const lead = code ? REFUSALS[code] : undefined;
  return lead ? `${lead} (${said.replace(/\.$/, '')}).` : /[.!?]$/.test(said) ? said : `${said}.`;
}

const KIND_WORDS: Record<CommandKind, string> = {
  verify: 'Verification',
  photo: 'Photo',
  screenshot: 'Screenshot',
  text: 'Question',
  menu: 'Menu',
  form: 'Form',
  confirm: 'Transaction',
  navigate: 'Open a screen',
  end: 'End control',
};

/** A command in a few words: "Fingerprint: confirm it's you", "Menu: Which card? (3 options)". */
export function commandSummary(cmd: DeviceCommand): string {
  switch (cmd.kind) {
    case 'verify':
      return `${cmd.payload.factor === 'biometric' ? 'Fingerprint or face' : 'PIN'}: ${cmd.payload.reason}`;
    case 'photo':
      return `Photo (${cmd.payload.camera} camera): ${cmd.payload.prompt}`;
    case 'screenshot':
      return `Screenshot: ${cmd.payload.prompt}`;
    case 'text':
      return `${{ tracking: 'Tracking number', email: 'Email address', free: 'Question' }[cmd.payload.input]}: ${cmd.payload.prompt}`;
    case 'menu':
      return `Menu: ${cmd.payload.title} (${cmd.payload.items.length} option${cmd.payload.items.length === 1 ? '' : 's'})`;
    case 'form':
      return `Form: ${cmd.payload.title} (${cmd.payload.fields.length} field${cmd.payload.fields.length === 1 ? '' : 's'})`;
    case 'confirm':
      return `Confirm ${money(cmd.payload.transaction.amount, cmd.payload.transaction.currency)} to ${cmd.payload.transaction.payee}`;
    case 'navigate':
      return `Open the ${cmd.payload.screen} screen`;
    case 'end':
      return `End control${cmd.payload.reason ? `: ${cmd.payload.reason}` : ''}`;
    default: {
      const never: never = cmd;
      return String(never);
    }
  }
}

export const kindWords = (k: CommandKind): string => KIND_WORDS[k];

/** Minor units in a currency ("£12.50"); the currency's own digits (JPY has none). */
export function money(minor: number, currency: string): string {
  try {
    const f = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
    const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
    return f.format(minor / 10 ** digits);
  } catch {
    return `${minor} ${currency} (minor units)`;
  }
}

/** The image id of a finished photo or screenshot. */
export function imageOf(c: CommandView): string | null {
  const r = c.result;
  if (!r) return null;
  return r.kind === 'photo' ? r.photoId : r.kind === 'screenshot' ? r.imageId : null;
}

/**
 * Remote control of the customer's device for the request in hand: send a command (main
 * adds the sequence number), follow each command live (command.update), withdraw one,
 * edit a live menu, and stop at once when the customer presses "stop all" (control.state).
 * Kinds the verification level does not allow are refused here with the reason, before
 * the authority would refuse them.
 */
export class RemoteControlStore extends Store<RemoteControlState> {
  private loadSeq = 0;

  constructor(private readonly bridge: ConsoleBridge) {
    super({
      target: null,
      commands: [],
      control: { stopped: false, at: null },
      loading: false,
      sending: null,
      busy: null,
      error: null,
      images: {},
    });
    bridge.on('command.update', (c) => {
      if (c.requestId === this.state.target?.requestId) this.upsert(c);
    });
    bridge.on('control.state', (s) => {
      if (s.requestId !== this.state.target?.requestId) return;
      // A change older than the one shown arrived late (with several authority nodes, one
      // from another node comes through its outbox): the later one stands.
      const shown = this.state.control.at;
      if (shown !== null && Date.parse(s.at) < Date.parse(shown)) return;
      const cancelled = new Set(s.cancelled);
      this.patch({
        control: { stopped: s.stopped, at: s.at },
        commands: this.state.commands.map((c) =>
          cancelled.has(c.commandId) && isOpen(c)
            ? { ...c, state: 'cancelled', reason: 'control_stopped', finishedAt: s.at }
            : c,
        ),
      });
    });
  }

  /** Follow this request (null: no request in hand). A new fence (the request came back to me) reloads. */
  focus(target: RemoteControlTarget | null): void {
    const t = this.state.target;
    if (!target) {
      if (t)
        this.setState({ ...this.state, target: null, commands: [], error: null, busy: null, sending: null });
      return;
    }
    if (t && t.requestId === target.requestId && t.fence === target.fence) {
      if (t.level !== target.level || t.customerName !== target.customerName) this.patch({ target });
      return;
    }
    this.setState({
      ...this.state,
      target,
      commands: t?.requestId === target.requestId ? this.state.commands : [],
      control: t?.requestId === target.requestId ? this.state.control : { stopped: false, at: null },
      loading: true,
      error: null,
      busy: null,
      sending: null,
    });
    void this.reload();
  }

  /** Fetch the request's commands and control state again (after a reconnect, or on focus). */
  async reload(): Promise<void> {
    const target = this.state.target;
    if (!target) return;
    const mine = ++this.loadSeq;
    try {
      const r = await this.bridge.invoke('command.list', { requestId: target.requestId });
      if (mine !== this.loadSeq || this.state.target?.requestId !== target.requestId) return;
      this.patch({
        commands: [...r.commands].sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
        // stopped: since when (shown); allowed again: since when (a late stop frame is older)
        control: { stopped: r.control.stopped, at: r.control.stoppedAt ?? r.control.changedAt },
        loading: false,
      });
      for (const c of r.commands) this.loadImage(c);
    } catch (e) {
      if (mine === this.loadSeq) this.patch({ loading: false, error: refusalText(e) });
    }
  }

  /** Null when this kind may be sent now, else why not (shown beside the disabled button). */
  blocked(kind: CommandKind): string | null {
    const { target, control } = this.state;
    if (!target) return 'No request in hand';
    if (control.stopped && kind !== 'end') return 'The customer stopped remote control';
    if (control.stopped) return 'Remote control is already stopped';
    const need = COMMAND_LEVELS[kind];
    if (target.level < need)
      return `Needs level ${need} (${LEVEL_TEXT[need]}); the customer is at level ${target.level}`;
    return null;
  }

  async send(command: DeviceCommand, ttlSeconds?: number): Promise<CommandView | null> {
    const target = this.state.target;
    if (!target) return null;
    const why = this.blocked(command.kind);
    if (why) {
      this.patch({ error: `${why}.` });
      return null;
    }
    this.patch({ sending: command.kind, error: null });
    try {
      const view = await this.bridge.invoke('command.send', {
        requestId: target.requestId,
        fence: target.fence,
        command,
        ...(ttlSeconds ? { ttlSeconds } : {}),
      });
      if (this.state.target?.requestId === target.requestId) {
        this.upsert(view);
        this.patch({ sending: null });
      }
      return view;
    } catch (e) {
      if (this.state.target?.requestId === target.requestId) {
        this.patch({ sending: null, error: refusalText(e) });
        if (errorCode(e) === 'control_stopped') void this.reload();
      }
      return null;
    }
  }

  /** Withdraw a command the device has not answered. */
  cancel(commandId: string): Promise<void> {
    return this.onCommand(commandId, (fence) => this.bridge.invoke('command.cancel', { commandId, fence }));
  }

  /** Change a live menu: the device shows the new items at once (revision + 1). */
  updateMenu(commandId: string, title: string, items: { id: string; label: string }[]): Promise<void> {
    return this.onCommand(commandId, (fence) =>
      this.bridge.invoke('command.updateMenu', { commandId, fence, title, items }),
    );
  }

  private async onCommand(commandId: string, run: (fence: number) => Promise<CommandView>): Promise<void> {
    const target = this.state.target;
    if (!target) return;
    this.patch({ busy: commandId, error: null });
    try {
      const view = await run(target.fence);
      this.upsert(view);
      this.patch({ busy: null });
    } catch (e) {
      this.patch({ busy: null, error: refusalText(e) });
    }
  }

  dismissError(): void {
    this.patch({ error: null });
  }

  /** Keep the newest version of a command (events and answers may cross). */
  private upsert(c: CommandView): void {
    const list = this.state.commands;
    const i = list.findIndex((x) => x.commandId === c.commandId);
    if (i >= 0) {
      const cur = list[i]!;
      const newer = c.revision > cur.revision || (c.revision === cur.revision && rank(c) >= rank(cur));
      if (!newer || (FINAL_COMMAND_STATES.includes(cur.state) && !FINAL_COMMAND_STATES.includes(c.state)))
        return;
      this.patch({ commands: list.map((x, j) => (j === i ? c : x)) });
    } else this.patch({ commands: [...list, c] });
    this.loadImage(c);
  }

  private loadImage(c: CommandView): void {
    const id = imageOf(c);
    if (!id || this.state.images[id]) return;
    this.patch({ images: { ...this.state.images, [id]: { status: 'loading' } } });
    this.bridge.invoke('panel.photo', { requestId: c.requestId, photoId: id }).then(
      (url) =>
        this.patch({
          images: {
            ...this.state.images,
            [id]: /^data:image\/(jpeg|png);base64,[A-Za-z0-9+/=]+$/.test(url)
              ? { status: 'ready', url }
              : { status: 'error', message: 'not an image' },
          },
        }),
      (e: unknown) =>
        this.patch({ images: { ...this.state.images, [id]: { status: 'error', message: errorText(e) } } }),
    );
  }
}
