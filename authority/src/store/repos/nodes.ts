import { Repo } from './base.ts';

/** One device online at one node (a live WebSocket or SIP registration there). */
export interface NodePresence {
  node: string;
  deviceId: string;
}

/**
 * Tables: authority_nodes (each running node's heartbeat), node_presence (which customer
 * devices are online at which node). Many nodes only: a node writes its own rows; any node
 * may remove a node whose heartbeat stopped (guarded: the delete that finds the rows is the
 * one that tells).
 */
export class NodesRepo extends Repo {
  /** Node `node` is alive at `at`: false when its row was gone (removed as stale, or a first beat). */
  async beat(node: string, at: number): Promise<boolean> {
    const r = await this.q
      .updateTable('authority_nodes')
      .set({ heartbeat_at: at })
      .where('node_id', '=', node)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) > 0) return true;
    await this.q
      .insertInto('authority_nodes')
      .values({ node_id: node, started_at: at, heartbeat_at: at })
      .onConflict((oc) => oc.column('node_id').doUpdateSet({ heartbeat_at: at }))
      .execute();
    return false;
  }

  /** The device is online at `node` (true) or no longer (false). */
  async present(node: string, deviceId: string, online: boolean, at: number): Promise<void> {
    if (online)
      await this.q
        .insertInto('node_presence')
        .values({ node_id: node, device_id: deviceId, since: at })
        .onConflict((oc) => oc.columns(['node_id', 'device_id']).doNothing())
        .execute();
    else
      await this.q
        .deleteFrom('node_presence')
        .where('node_id', '=', node)
        .where('device_id', '=', deviceId)
        .execute();
  }

  /** Nodes whose heartbeat is not older than `freshSince` where the device is online. */
  async nodesOf(deviceId: string, freshSince: number): Promise<string[]> {
    const rows = await this.q
      .selectFrom('node_presence as p')
      .innerJoin('authority_nodes as n', 'n.node_id', 'p.node_id')
      .select('p.node_id')
      .where('p.device_id', '=', deviceId)
      .where('n.heartbeat_at', '>=', freshSince)
      .execute();
    return rows.map((r) => r.node_id);
  }

  /** Every device online at a node whose heartbeat is not older than `freshSince`. */
  async presentAt(freshSince: number): Promise<NodePresence[]> {
    const rows = await this.q
      .selectFrom('node_presence as p')
      .innerJoin('authority_nodes as n', 'n.node_id', 'p.node_id')
      .select(['p.node_id', 'p.device_id'])
      .where('n.heartbeat_at', '>=', freshSince)
      .execute();
    return rows.map((r) => ({ node: r.node_id, deviceId: r.device_id }));
  }

  /** Nodes whose last heartbeat is older than `before`. */
  async stale(before: number): Promise<string[]> {
    const rows = await this.q
      .selectFrom('authority_nodes')
      .select('node_id')
      .where('heartbeat_at', '<', before)
      .execute();
    return rows.map((r) => r.node_id);
  }

  /**
   * Node `node` is gone (stopped, or its heartbeat stale): its rows are deleted. Returns the
   * devices that were online there (empty when another node removed it first).
   */
  async remove(node: string): Promise<string[]> {
    const rows = await this.q
      .deleteFrom('node_presence')
      .where('node_id', '=', node)
      .returning('device_id')
      .execute();
    await this.q.deleteFrom('authority_nodes').where('node_id', '=', node).execute();
    return rows.map((r) => r.device_id);
  }
}
