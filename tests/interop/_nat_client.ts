/**
 * A netwasm "page" for the NAT relay tests, run as a subprocess inside the
 * test's namespace: joins the relay over WebSocket (no TAP), takes a DHCP
 * lease, runs one scenario and prints one JSON line with what happened.
 *
 * Usage: deno run -A _nat_client.ts RELAY_URL SCENARIO [ARGS…]
 *
 * - `dns NAME SERVER`: resolve NAME through the lease's name server (the
 *   relay's forwarder) and directly at SERVER over UDP through the NAT.
 * - `denied HOST:PORT…`: try each; report how each attempt ended.
 * - `ping HOST…`: one echo request to each; the reply or the error.
 * - `limit HOST:PORT N`: open N connections and keep them; report how many
 *   succeeded, close them, then open one more.
 * - `dnsflood NAME N`: N queries at once through the forwarder; report answers and refusals.
 * - `serve PORT TEXT`: serve TEXT over HTTP on PORT until killed (prints the address first).
 *
 * @module
 */
import { Stack } from "../../src/api/stack.ts";
import { RealClock } from "../../src/core/clock.ts";
import { WebSocketLink } from "../../src/link/websocket.ts";
import { DnsError } from "../../src/dns/errors.ts";

const [url, scenario, ...args] = Deno.args;
const clock = new RealClock({ keepAlive: true });
const stack = new Stack({ clock, dns: {} });
const link = await WebSocketLink.connect(url!, {
  allocator: stack.allocator,
  clock,
  reconnect: false,
});
const iface = stack.addInterface(link, {
  dhcp: { startDelayMs: 0, probes: 1, probeIntervalMs: 200 },
});
const lease = await stack.dhcp(iface)!.bound();
const out: Record<string, unknown> = { address: lease.address, dns: lease.dnsServers };

const outcome = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

try {
  switch (scenario) {
    case "dns": {
      const [name, server] = args;
      out.viaGateway = await stack.resolveDns(name!, "A").catch(outcome);
      out.direct = await stack.resolveDns(name!, "A", { nameServer: { ipAddr: server! } })
        .catch(outcome);
      break;
    }
    case "denied": {
      const results: Record<string, string> = {};
      for (const target of args) {
        const [host, port] = target.split(":");
        const t0 = performance.now();
        try {
          const c = await stack.connect({
            hostname: host!,
            port: Number(port),
            signal: AbortSignal.timeout(20_000),
          });
          c.close();
          results[target] = "connected";
        } catch (e) {
          results[target] = `${(e as Error).name} after ${(performance.now() - t0).toFixed(0)} ms`;
        }
      }
      out.results = results;
      break;
    }
    case "ping": {
      const results: Record<string, string> = {};
      for (const host of args) {
        try {
          const r = await stack.ping(host, { timeout: 5000 });
          results[host] = `reply from ${r.from}, data ${r.dataMatches ? "matches" : "differs"}`;
        } catch (e) {
          results[host] = (e as Error).name;
        }
      }
      out.results = results;
      break;
    }
    case "limit": {
      const [host, port] = args[0]!.split(":");
      const n = Number(args[1]);
      const open = [];
      const errors: string[] = [];
      for (let i = 0; i < n; i++) {
        try {
          open.push(await stack.connect({ hostname: host!, port: Number(port) }));
        } catch (e) {
          errors.push((e as Error).name);
        }
      }
      out.opened = open.length;
      out.refused = errors;
      for (const c of open) c.close();
      // Closed sessions free their slots: one more now succeeds.
      await new Promise((r) => setTimeout(r, 500));
      try {
        (await stack.connect({ hostname: host!, port: Number(port) })).close();
        out.afterClose = "connected";
      } catch (e) {
        out.afterClose = outcome(e);
      }
      break;
    }
    case "dnsflood": {
      const [name, count] = args;
      stack.dns.configure({ attempts: 1, timeout: 5000 });
      stack.dns.cache?.clear();
      const all = await Promise.allSettled(
        Array.from(
          { length: Number(count) },
          (_, i) => stack.dns.resolveDns(`q${i}.${name}`, "A", {}),
        ),
      );
      out.answered = all.filter((r) =>
        r.status === "fulfilled" || (r.reason as Error).name === "NotFound"
      ).length;
      out.refused = all.filter((r) =>
        r.status === "rejected" && r.reason instanceof DnsError && r.reason.rcode === 5
      ).length;
      out.other = all.filter((r) =>
        r.status === "rejected" && !(r.reason instanceof DnsError && r.reason.rcode === 5) &&
        (r.reason as Error).name !== "NotFound"
      ).map((r) =>
        outcome((r as PromiseRejectedResult).reason)
      );
      break;
    }
    case "serve": {
      const [port, text] = args;
      const listener = stack.listen({ port: Number(port) });
      console.log(JSON.stringify({ ...out, listening: `${lease.address}:${port}` }));
      for await (const conn of listener) {
        (async () => {
          const buf = new Uint8Array(4096);
          await conn.read(buf);
          const body = new TextEncoder().encode(text!);
          await conn.write(
            new TextEncoder().encode(
              `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
            ),
          );
          await conn.write(body);
          await conn.closeWrite();
          conn.close();
        })().catch(() => {});
      }
      break;
    }
    default:
      out.error = `unknown scenario ${scenario}`;
  }
} catch (e) {
  out.error = outcome(e);
}
console.log(JSON.stringify(out));
await stack.close();
clock.close();
Deno.exit(0);
