/**
 * A node that is stopping cleanly among several (SIGTERM with `VD_DRAIN_SECONDS`): from
 * `begin()` its `/healthz` answers 503 `draining`, so the load balancer stops sending it
 * new requests and sockets, while what is in flight finishes; then the node closes its
 * sockets with 1012 (service restart: clients reconnect through the balancer) and stops.
 */
export class NodeDrain {
  draining = false;

  begin(): void {
    this.draining = true;
  }
}
