import type { Clock } from '../../clock.ts';
import type { DomainTopic } from '../../../../protocol/src/domain-events.ts';
import type { Engine, Store, StoreStats, Tx } from '../engine.ts';
import { AgentsRepo } from './agents.ts';
import { AuditRepo } from './audit.ts';
import { AuthenticationsRepo } from './authentications.ts';
import type { RepoContext } from './base.ts';
import { CallTicketsRepo } from './call-tickets.ts';
import { ChatRepo } from './chat.ts';
import { CommandsRepo } from './commands.ts';
import { CustodyRepo } from './custody.ts';
import { DeadlinesRepo } from './deadlines.ts';
import { CustomersRepo } from './customers.ts';
import { DeviceAccountRepo } from './device-account.ts';
import { DevicesRepo } from './devices.ts';
import { FactorsRepo } from './factors.ts';
import { NodesRepo } from './nodes.ts';
import { OutboxRepo, unitEmitted } from './outbox.ts';
import { UnitWrites } from '../unit-writes.ts';
import { RecordingsRepo } from './recordings.ts';
import { ReportsRepo } from './reports.ts';
import { SigningKeysRepo } from './keys.ts';
import { PhoneCallbacksRepo } from './phone-callbacks.ts';
import { PhoneCallsRepo, VerificationLinksRepo } from './phone-calls.ts';
import { PipelineConfigRepo } from './pipeline-config.ts';
import { PushRepo } from './push.ts';
import { QuickRepliesRepo } from './quick-replies.ts';
import { RequestsRepo } from './requests.ts';
import { SessionsRepo } from './sessions.ts';
import { SsoRepo } from './sso.ts';
import { StaffRepo } from './staff.ts';
import { TransfersRepo } from './transfers.ts';
import { WebhooksRepo } from './webhooks.ts';
import { WrapUpsRepo } from './wrap-ups.ts';

const REPOS = {
  agents: AgentsRepo,
  audit: AuditRepo,
  authentications: AuthenticationsRepo,
  callTickets: CallTicketsRepo,
  chat: ChatRepo,
  commands: CommandsRepo,
  custody: CustodyRepo,
  customers: CustomersRepo,
  deadlines: DeadlinesRepo,
  deviceAccount: DeviceAccountRepo,
  devices: DevicesRepo,
  factors: FactorsRepo,
  keys: SigningKeysRepo,
  nodes: NodesRepo,
  outbox: OutboxRepo,
  phoneCallbacks: PhoneCallbacksRepo,
  phoneCalls: PhoneCallsRepo,
  pipelineConfig: PipelineConfigRepo,
  push: PushRepo,
  quickReplies: QuickRepliesRepo,
  recordings: RecordingsRepo,
  reports: ReportsRepo,
  requests: RequestsRepo,
  sessions: SessionsRepo,
  sso: SsoRepo,
  staff: StaffRepo,
  transfers: TransfersRepo,
  verificationLinks: VerificationLinksRepo,
  webhooks: WebhooksRepo,
  wrapUps: WrapUpsRepo,
} as const;

/** Every repository, bound to one unit of work (or to the read handle). Made on first use. */
export type Repos = { readonly [K in keyof typeof REPOS]: InstanceType<(typeof REPOS)[K]> };

/**
 * The repositories of one context, each made on first use. The getters live on one shared
 * prototype (defined once, not per unit of work: a unit is made for every request).
 */
class LazyRepos {
  readonly made: Partial<Record<keyof typeof REPOS, unknown>> = {};
  constructor(readonly c: RepoContext) {}
}
for (const k of Object.keys(REPOS) as (keyof typeof REPOS)[])
  Object.defineProperty(LazyRepos.prototype, k, {
    get(this: LazyRepos) {
      return (this.made[k] ??= new REPOS[k](this.c));
    },
    enumerable: true,
  });

function reposFor(c: RepoContext): Repos {
  return new LazyRepos(c) as unknown as Repos;
}

/**
 * What the domain gets instead of a database: repositories, in a unit of work or for
 * reads. `data.tx(async (r) => ...)` commits everything `r` wrote (audit rows too) or
 * nothing, and resolves once it is durable; `data.read` sees committed data only.
 */
export class Data {
  readonly read: Repos;
  readonly engine: Engine;
  private readonly emitted = new Set<(topics: ReadonlySet<DomainTopic>) => void>();
  private readonly units = new Set<(ms: number, ok: boolean) => void>();
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {
    this.engine = store.engine;
    this.read = reposFor({ q: store.db, engine: store.engine, clock, writable: false });
  }

  tx<T>(fn: (r: Repos) => Promise<T>): Promise<T> {
    return this.unit(fn, false);
  }

  /**
   * A unit of work of one statement, e.g. `data.statement((r) => r.devices.rememberProof(id, exp))`:
   * the same promise as tx(), one round trip on PostgreSQL instead of three (store.statement).
   * `fn` is one repository call that runs one statement on PostgreSQL and nothing after it
   * that can fail: there the statement has committed when it returns.
   */
  statement<T>(fn: (r: Repos) => Promise<T>): Promise<T> {
    return this.unit(fn, true);
  }

  private async unit<T>(fn: (r: Repos) => Promise<T>, single: boolean): Promise<T> {
    let c: RepoContext | undefined;
    const t0 = performance.now();
    let v: T;
    try {
      const body = async (t: Tx) => {
        // PostgreSQL: the unit's audit rows and events are staged last, written by its COMMIT (unit-writes.ts)
        const later = this.store.engine === 'postgres' ? new UnitWrites() : undefined;
        c = { q: t, engine: this.store.engine, clock: this.clock, writable: true, later };
        const value = await fn(reposFor(c));
        await later?.flush(c);
        return value;
      };
      v = await (single ? this.store.statement(body) : this.store.tx(body));
    } catch (e) {
      for (const l of this.units) l(performance.now() - t0, false);
      throw e;
    }
    for (const l of this.units) l(performance.now() - t0, true);
    // The unit wrote outbox events and they are durable now: wake the event bus (events/).
    const topics = c && unitEmitted(c);
    if (topics) for (const l of this.emitted) l(topics);
    return v;
  }

  /** Units run and commits made so far (benchmarks print commits per operation). */
  stats(): StoreStats {
    return this.store.stats();
  }

  /** `l` gets each unit's duration (start to durable commit, retries included) and whether it committed: /metrics. */
  onUnit(l: (ms: number, ok: boolean) => void): () => void {
    this.units.add(l);
    return () => this.units.delete(l);
  }

  /** `l` runs after every unit that emitted outbox events has committed, with their topics (the event bus's wake-up). */
  onEventsCommitted(l: (topics: ReadonlySet<DomainTopic>) => void): () => void {
    this.emitted.add(l);
    return () => this.emitted.delete(l);
  }
}
