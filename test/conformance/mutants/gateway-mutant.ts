/**
 * Gateway mutants: the reference adapter (src/conformance/targets/reference.ts)
 * with ONE thing broken each, through a GatewayProfile switch, the config the
 * gateway really runs with, or a thin wrapper. test/conformance/gateway-cases.test.ts
 * checks that the case naming the broken rule catches each one.
 */
import type { GatewayAdapter, InProcessGateway } from '../../../src/conformance/adapter.ts';

export interface GatewayMutant {
  readonly name: string;
  readonly breaks: string;
  readonly adapter: GatewayAdapter;
  /** The case that must catch it, and the rules its failure may name. */
  readonly caughtBy: { readonly id: string; readonly rules: readonly string[] };
  /** Other cases the break implies may fail too (anything else failing is a finding). */
  readonly alsoFails: readonly string[];
}

/** An InProcessGateway whose events pass through `keep` (false: the client never gets it). */
export function filterEvents(inner: InProcessGateway, keep: (event: string, payload: unknown) => boolean): InProcessGateway {
  return {
    ...inner,
    open(connId, send) {
      inner.open(connId, (event, payload, seq) => {
        if (keep(event, payload)) send(event, payload, seq);
      });
    },
    request: (connId, method, params) => inner.request(connId, method, params),
    close: (connId) => inner.close(connId),
    ...(inner.stop !== undefined ? { stop: (options: { abortRunning: boolean }) => inner.stop!(options) } : {}),
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}
