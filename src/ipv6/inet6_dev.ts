/**
 * Per-interface IPv6 state (Linux `inet6_dev` and `inet6_ifaddr`): the
 * addresses with their DAD state and lifetimes, the multicast groups the
 * interface listens to, and the link parameters a router may advertise (hop
 * limit, MTU, reachable time, retransmission timer; RFC 4861 §6.3.2).
 *
 * Plain data: the protocols that change it (`addrconf.ts`, `ndisc.ts`,
 * `mld.ts`) and read it (`layer.ts`, `select.ts`) import this module and
 * nothing imports them from here, so there is no cycle.
 *
 * @module
 */
import type { Iface } from "../ipv4/iface.ts";
import {
  inPrefix6,
  ip6Equal,
  IPV6_ALL_NODES,
  isLinkLocal6,
  isLoopback6,
  isMulticast6,
  isSolicitedNodeOf,
} from "../wire/addr6.ts";
import { IPV6_MIN_MTU } from "../wire/ipv6.ts";

/**
 * States of an interface address (RFC 4862 §2: tentative, preferred,
 * deprecated; plus duplicate, kept so the failure is visible).
 *
 * @example
 * ```ts
 * import { AddrState } from "./inet6_dev.ts";
 * AddrState.TENTATIVE; // 0: DAD running, not usable yet
 * ```
 */
export const AddrState = {
  TENTATIVE: 0,
  PREFERRED: 1,
  DEPRECATED: 2,
  DUPLICATE: 3,
} as const;
/**
 * One of {@link AddrState}.
 *
 * @example
 * ```ts
 * import type { AddrState } from "./inet6_dev.ts";
 * const s: AddrState = 1; // PREFERRED
 * ```
 */
export type AddrState = typeof AddrState[keyof typeof AddrState];

/**
 * Names of {@link AddrState}, as `ip -6 addr` would show them.
 *
 * @example
 * ```ts
 * import { ADDR_STATE_NAMES } from "./inet6_dev.ts";
 * ADDR_STATE_NAMES[0]; // "tentative"
 * ```
 */
export const ADDR_STATE_NAMES = ["tentative", "preferred", "deprecated", "duplicate"] as const;

/**
 * Where an address came from.
 *
 * @example
 * ```ts
 * import type { AddrOrigin } from "./inet6_dev.ts";
 * const o: AddrOrigin = "slaac";
 * ```
 */
export type AddrOrigin = "static" | "link-local" | "slaac" | "loopback";

/**
 * One address on an interface (Linux `inet6_ifaddr`).
 *
 * @example
 * ```ts
 * import { Inet6Addr } from "./inet6_dev.ts";
 * import { parseIpv6Address } from "../wire/addr6.ts";
 * const a = new Inet6Addr(parseIpv6Address("2001:db8::2"), 64, "static");
 * a.state; // 0: tentative until DAD says otherwise
 * ```
 */
export class Inet6Addr {
  /** One of {@link AddrState}: tentative until DAD passes (RFC 4862 §5.4). */
  state: AddrState = AddrState.TENTATIVE;
  /** Clock time after which the address is deprecated (Infinity: never). */
  preferredUntil: number = Infinity;
  /** Clock time after which it is removed (Infinity: never). */
  validUntil: number = Infinity;
  /** DAD probes still to send. */
  dadProbesLeft = 0;
  /** Nonce of this DAD run, so a looped-back probe is not taken for a duplicate (RFC 7527). */
  readonly dadNonce: Uint8Array = new Uint8Array(6);
  /** RFC 7217 DAD_Counter: how many times this address was regenerated after a conflict. */
  dadCounter = 0;
  /** For SLAAC addresses: the advertised prefix (first 64 bits used). */
  prefix: Uint8Array | null = null;

  /**
   * An address, TENTATIVE until DAD or the caller says otherwise.
   *
   * @param address the address (16 bytes, owned by this object)
   * @param prefixLength its on-link prefix length
   * @param origin how it was configured
   */
  constructor(
    readonly address: Uint8Array,
    readonly prefixLength: number,
    readonly origin: AddrOrigin,
  ) {}

  /** Usable as a source and answered for (preferred or deprecated, RFC 4862 §5.5.4). */
  get usable(): boolean {
    return this.state === AddrState.PREFERRED || this.state === AddrState.DEPRECATED;
  }
}

/**
 * The IPv6 side of one interface.
 *
 * @example
 * ```ts
 * // Created by Ipv6Devices.enable(iface); read by the layer:
 * // const dev = stack.ipv6.devices.get(iface); dev?.addrs
 * ```
 */
export class Inet6Dev {
  /** Addresses, in the order they were added. */
  readonly addrs: Inet6Addr[] = [];
  /** Multicast groups joined (reference counted), besides ff02::1 which every node has. */
  readonly groups: { group: Uint8Array; refs: number }[] = [];
  /** Hop limit for unicast (RFC 4861 §6.3.4 CurHopLimit from RAs); 0 = the stack default. */
  hopLimit = 0;
  /** IPv6 MTU of the link (the device MTU, or less from an RA's MTU option). */
  mtu: number;
  /** BaseReachableTime (RFC 4861 §6.3.2), ms. */
  baseReachableMs = 30_000;
  /** ReachableTime, ms: BaseReachableTime times a random factor in [0.5, 1.5] (RFC 4861 §6.3.2). */
  reachableMs = 30_000;
  /** RetransTimer, ms (RFC 4861 §10). */
  retransMs = 1000;
  /** Accept router advertisements and autoconfigure from them (SLAAC). */
  acceptRa: boolean;
  /** IPv6 stopped on this interface (e.g. a duplicate EUI-64 link-local, RFC 4862 §5.4.5). */
  disabled = false;
  /** Router solicitations sent so far (at most 3, RFC 4861 §6.3.7). */
  rsSent = 0;
  /** A router advertisement arrived: stop soliciting. */
  raReceived = false;

  /**
   * The IPv6 state of `iface`; its MTU starts at the device MTU (at least 1280).
   *
   * @param iface the interface
   * @param acceptRa whether router advertisements configure it
   */
  constructor(readonly iface: Iface, acceptRa: boolean) {
    this.mtu = Math.max(IPV6_MIN_MTU, iface.mtu);
    this.acceptRa = acceptRa;
  }

  /** The address equal to `u8[off, off+16)`, or undefined. */
  find(u8: Uint8Array, off: number): Inet6Addr | undefined {
    for (let i = 0; i < this.addrs.length; i++) {
      const a = this.addrs[i]!;
      if (ip6Equal(a.address, 0, u8, off)) return a;
    }
    return undefined;
  }

  /** A usable link-local address (preferred first), or undefined. */
  linkLocal(): Inet6Addr | undefined {
    let deprecated: Inet6Addr | undefined;
    for (const a of this.addrs) {
      if (!isLinkLocal6(a.address) || !a.usable) continue;
      if (a.state === AddrState.PREFERRED) return a;
      deprecated ??= a;
    }
    return deprecated;
  }

  /** True when `u8[off]` lies in the on-link prefix of one of the addresses. */
  onLink(u8: Uint8Array, off: number): boolean {
    if (isLinkLocal6(u8, off)) return true;
    for (const a of this.addrs) {
      if (a.state === AddrState.DUPLICATE) continue;
      if (a.prefixLength < 128 && inPrefix6(u8, off, a.address, 0, a.prefixLength)) return true;
    }
    return false;
  }

  /**
   * Does this interface accept packets to the multicast group at `u8[off]`?
   * ff02::1 always (RFC 4291 §2.8), ff01::1 on loopback, else joined groups.
   */
  listens(u8: Uint8Array, off: number): boolean {
    if (ip6Equal(u8, off, IPV6_ALL_NODES, 0)) return true;
    if (u8[off] === 0xff && u8[off + 1] === 0x01 && this.iface.loopback) return true;
    for (let i = 0; i < this.groups.length; i++) {
      if (ip6Equal(this.groups[i]!.group, 0, u8, off)) return true;
    }
    return false;
  }

  /** Is `u8[off]` the solicited-node group of one of our (even tentative) addresses? */
  isSolicitedNode(u8: Uint8Array, off: number): boolean {
    for (const a of this.addrs) if (isSolicitedNodeOf(u8, off, a.address, 0)) return true;
    return false;
  }
}

/**
 * The IPv6 interfaces of a stack, indexed by interface index.
 *
 * @example
 * ```ts
 * import { Ipv6Devices } from "./inet6_dev.ts";
 * const devs = new Ipv6Devices();
 * devs.all().length; // 0
 * ```
 */
export class Ipv6Devices {
  readonly #byIndex: (Inet6Dev | undefined)[] = [];
  readonly #list: Inet6Dev[] = [];

  /** Enable IPv6 on `iface` (idempotent); returns its state. */
  enable(iface: Iface, acceptRa: boolean): Inet6Dev {
    const have = this.#byIndex[iface.index];
    if (have !== undefined) return have;
    const dev = new Inet6Dev(iface, acceptRa);
    this.#byIndex[iface.index] = dev;
    this.#list.push(dev);
    return dev;
  }

  /** Forget `iface`. */
  remove(iface: Iface): Inet6Dev | undefined {
    const dev = this.#byIndex[iface.index];
    if (dev === undefined) return undefined;
    this.#byIndex[iface.index] = undefined;
    this.#list.splice(this.#list.indexOf(dev), 1);
    return dev;
  }

  /** The IPv6 state of `iface`, if enabled. */
  get(iface: Iface): Inet6Dev | undefined {
    return this.#byIndex[iface.index];
  }

  /** The IPv6 state of interface number `index`, if enabled. */
  byIndex(index: number): Inet6Dev | undefined {
    return this.#byIndex[index];
  }

  /** Every IPv6 interface. */
  all(): readonly Inet6Dev[] {
    return this.#list;
  }

  /**
   * The interface address equal to `u8[off]` on any interface (::1 matches the
   * loopback interface), or undefined. Tentative and duplicate addresses are
   * included: callers check `usable`.
   */
  findAddr(u8: Uint8Array, off: number): { dev: Inet6Dev; addr: Inet6Addr } | undefined {
    for (const dev of this.#list) {
      const a = dev.find(u8, off);
      if (a !== undefined) return { dev, addr: a };
    }
    return undefined;
  }

  /** True when `u8[off]` is a usable address of ours (any interface). */
  isLocal(u8: Uint8Array, off: number): boolean {
    if (isMulticast6(u8, off)) return false;
    for (const dev of this.#list) {
      const a = dev.find(u8, off);
      if (a !== undefined && a.usable) return true;
    }
    return false;
  }

  /** The loopback interface's IPv6 state, if any (for ::1). */
  loopback(): Inet6Dev | undefined {
    for (const dev of this.#list) if (dev.iface.loopback) return dev;
    return undefined;
  }

  /** True for ::1 when a loopback interface has IPv6. */
  hasLoopback(u8: Uint8Array, off: number): boolean {
    return isLoopback6(u8, off) && this.loopback() !== undefined;
  }
}
