/**
 * The IPv6 parts of `Stack` that need no private state: sorting an
 * interface configuration by family, and `ping` for IPv6 destinations.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { Errno } from "../core/errno.ts";
import type { Iface } from "../ipv4/iface.ts";
import type { Icmpv6Protocol } from "../ipv6/icmp.ts";
import { errnoError, TimedOut } from "../socket/errors.ts";
import { type Ipv4Address, tryParseCidr, tryParseIpv4 } from "../wire/addr.ts";
import {
  type Ipv6Address,
  splitZone,
  tryParseIpv6Address,
  tryParseIpv6Cidr,
} from "../wire/addr6.ts";

/**
 * The address fields of `InterfaceConfig` (`stack.ts`), repeated here so this
 * module does not import its importer.
 *
 * @example
 * ```ts
 * import type { AddressConfig } from "./stack6.ts";
 * const c: AddressConfig = { ip6: ["2001:db8::2/64"], slaac: false };
 * ```
 */
export interface AddressConfig {
  readonly address?: string;
  readonly gateway?: string;
  readonly ip6?: string | readonly string[];
  readonly gateway6?: string;
  readonly slaac?: boolean;
  readonly ipv6?: boolean;
}

/**
 * `PingOptions` (`stack.ts`) as far as IPv6 ping uses them.
 *
 * @example
 * ```ts
 * import type { Ping6Options } from "./stack6.ts";
 * const o: Ping6Options = { size: 8000, timeout: 2000 };
 * ```
 */
export interface Ping6Options {
  size?: number;
  seq?: number;
  id?: number;
  timeout?: number;
  ttl?: number;
  dontFragment?: boolean;
  signal?: AbortSignal;
  interface?: string | number;
}

/**
 * `PingResult` (`stack.ts`).
 *
 * @example
 * ```ts
 * import type { Ping6Result } from "./stack6.ts";
 * const fast = (r: Ping6Result) => r.rtt < 1;
 * ```
 */
export interface Ping6Result {
  from: string;
  seq: number;
  ttl: number;
  bytes: number;
  rtt: number;
  dataMatches: boolean;
}

/**
 * What {@link planInterface} makes of an {@link AddressConfig}.
 *
 * @example
 * ```ts
 * import { planInterface } from "./stack6.ts";
 * planInterface({ address: "2001:db8::2/64" }).ipv6; // true
 * ```
 */
export interface InterfacePlan {
  v4: { address: Ipv4Address; prefixLen: number } | null;
  gateway4: Ipv4Address | null;
  v6: { address: Ipv6Address; prefixLen: number }[];
  gateway6: Ipv6Address | null;
  ipv6: boolean;
}

/**
 * Check an interface configuration and sort it by family; throws `TypeError`
 * saying what is wrong. With `dhcp` the IPv4 address may be missing (DHCP
 * brings it).
 *
 * @example
 * ```ts
 * import { planInterface } from "./stack6.ts";
 * planInterface({ address: "192.0.2.2/24", ip6: "2001:db8::2/64" }).v6.length; // 1
 * ```
 */
export function planInterface(config: AddressConfig, dhcp = false): InterfacePlan {
  const plan: InterfacePlan = { v4: null, gateway4: null, v6: [], gateway6: null, ipv6: false };
  const addr6 = (text: string) => {
    const c = tryParseIpv6Cidr(text);
    if (c === null) {
      throw new TypeError(
        `Interface address "${text}" is not ADDRESS/PREFIX (e.g. 2001:db8::2/64)`,
      );
    }
    plan.v6.push({ address: c.address, prefixLen: c.prefixLen });
  };
  if (config.address !== undefined) {
    if (config.address.includes(":")) addr6(config.address);
    else {
      const cidr = tryParseCidr(config.address);
      if (cidr === null) {
        throw new TypeError(
          `Interface address "${config.address}" is not ADDRESS/PREFIX (e.g. 192.0.2.2/24)`,
        );
      }
      plan.v4 = { address: cidr.address, prefixLen: cidr.prefixLen };
    }
  }
  const more = config.ip6 === undefined
    ? []
    : typeof config.ip6 === "string"
    ? [config.ip6]
    : config.ip6;
  for (const t of more) addr6(t);
  const gw6 = config.gateway6 ?? (config.gateway?.includes(":") ? config.gateway : undefined);
  if (gw6 !== undefined) {
    const g = tryParseIpv6Address(gw6);
    if (g === null) throw new TypeError(`IPv6 gateway "${gw6}" is not an IPv6 address`);
    plan.gateway6 = g;
  }
  if (config.gateway !== undefined && !config.gateway.includes(":")) {
    const gw = tryParseIpv4(config.gateway);
    if (gw === null) throw new TypeError(`Gateway "${config.gateway}" is not an IPv4 address`);
    if (plan.v4 === null) {
      throw new TypeError(`Gateway "${config.gateway}" needs an IPv4 address on the interface`);
    }
    plan.gateway4 = gw;
  }
  plan.ipv6 = config.ipv6 ??
    (plan.v6.length > 0 || plan.gateway6 !== null || config.slaac === true);
  if (config.ipv6 === false && (plan.v6.length > 0 || plan.gateway6 !== null)) {
    throw new TypeError("IPv6 addresses or gateway given with ipv6: false");
  }
  if (plan.v4 === null && !plan.ipv6 && !dhcp) {
    throw new TypeError(
      "Interface configuration has no address: give address (IPv4 or IPv6), ip6, or ipv6: true",
    );
  }
  return plan;
}

/**
 * `Stack.ping` for IPv6 destinations (`"2001:db8::1"`, `"[2001:db8::1]"`,
 * `"fe80::1%tap0"`): one ICMPv6 echo request, resolved with the reply.
 *
 * @example
 * ```ts
 * // used by stack.ping("2001:db8::1")
 * ```
 */
export function pingIpv6(
  deps: { clock: Clock; icmp: Icmpv6Protocol; interfaces: readonly Iface[] },
  host: string,
  options: Ping6Options,
): Promise<Ping6Result> {
  const [text, zone] = splitZone(
    host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host,
  );
  const dst = tryParseIpv6Address(text);
  if (dst === null) {
    return Promise.reject(new TypeError(`ping: "${host}" is not an IPv6 address`));
  }
  const want = zone ?? options.interface;
  let oif: Iface | undefined;
  if (want !== undefined) {
    oif = deps.interfaces.find((i) => i.name === String(want) || String(i.index) === String(want));
    if (oif === undefined) return Promise.reject(new TypeError(`ping: no interface "${want}"`));
  }
  const size = options.size ?? 56;
  if (!(size >= 0 && size <= 65527)) throw new RangeError(`ping size ${size} is outside 0…65527`);
  const icmp = deps.icmp;
  const id = options.id ?? icmp.allocEchoId();
  const seq = (options.seq ?? 0) & 0xffff;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i + 8) & 0xff;
  const timeout = options.timeout ?? 1000;
  return new Promise<Ping6Result>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(errnoError(Errno.EINTR, `ping ${text}`, "aborted"));
      return;
    }
    const sent = deps.clock.now();
    const finish = (result: Ping6Result | Error) => {
      remove();
      deps.clock.clearTimer(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onAbort = () => finish(errnoError(Errno.EINTR, `ping ${text}`, "aborted"));
    const timer = deps.clock.setTimer(timeout, () => {
      finish(new TimedOut(Errno.ETIMEDOUT, `ping ${text}: no reply within ${timeout} ms`));
    });
    const remove = icmp.onEchoReply(id, (reply) => {
      if (reply.seq !== seq) return;
      if ("errno" in reply) {
        finish(errnoError(reply.errno, `ping ${text}`, `${reply.reason} (from ${reply.from})`));
        return;
      }
      let same = reply.data.length === data.length;
      for (let i = 0; same && i < data.length; i++) same = reply.data[i] === data[i];
      finish({
        from: reply.from,
        seq: reply.seq,
        ttl: reply.hopLimit,
        bytes: reply.data.length + 8,
        rtt: reply.time - sent,
        dataMatches: same,
      });
    });
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const r = icmp.sendEcho(dst, 0, id, seq, data, {
      ...(options.ttl !== undefined ? { hopLimit: options.ttl } : {}),
      ...(oif !== undefined ? { oif } : {}),
      ...(options.dontFragment !== undefined ? { dontFragment: options.dontFragment } : {}),
    });
    if (r < 0) {
      finish(errnoError(
        r,
        `ping ${text}`,
        r === -Errno.EINVAL ? "a link-local address needs an interface (add %IFACE)" : undefined,
      ));
    }
  });
}
