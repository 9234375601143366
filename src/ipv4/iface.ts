/**
 * An IPv4 interface: a device plus its address configuration (Linux
 * `in_device` + `in_ifaddr`, one address per interface).
 *
 * @module
 */
import type { NetDevice } from "../link/device.ts";
import { directedBroadcast, type Ipv4Address, prefixToMask } from "../wire/addr.ts";

/** Options for {@link Iface}. */
export interface IfaceOptions {
  /** Interface index (1-based, unique per stack). */
  index: number;
  /** The device. */
  dev: NetDevice;
  /** Our address on this link. */
  address: Ipv4Address;
  /** Prefix length of the on-link subnet (0–32). */
  prefixLength: number;
  /** No ARP on this link (loopback, point-to-point): the next hop's MAC is not needed. */
  noArp?: boolean;
  /** The loopback interface: 127/8 is only valid here (RFC 1122 §3.2.1.3 (g)). */
  loopback?: boolean;
}

/**
 * One configured interface.
 *
 * @example
 * ```ts
 * import { Iface } from "./iface.ts";
 * // new Iface({ index: 1, dev, address: 0xc0000202, prefixLength: 24 });
 * ```
 */
export class Iface {
  /** Interface index (1 = loopback). */
  readonly index: number;
  /** The device. */
  readonly dev: NetDevice;
  /** Our address on it. */
  readonly address: Ipv4Address;
  /** Prefix length of the subnet. */
  readonly prefixLength: number;
  /** The subnet mask. */
  readonly mask: Ipv4Address;
  /** The subnet's directed broadcast, or -1 for /31 and /32 (none). */
  readonly broadcast: number;
  /** No ARP on this link (loopback). */
  readonly noArp: boolean;
  /** The loopback interface. */
  readonly loopback: boolean;

  /** An interface from its options. */
  constructor(options: IfaceOptions) {
    if (!(options.prefixLength >= 0 && options.prefixLength <= 32)) {
      throw new RangeError(`Interface prefix length ${options.prefixLength} is outside 0…32`);
    }
    this.index = options.index;
    this.dev = options.dev;
    this.address = options.address >>> 0;
    this.prefixLength = options.prefixLength;
    this.mask = prefixToMask(options.prefixLength);
    this.broadcast = directedBroadcast(this.address & this.mask, options.prefixLength) ?? -1;
    this.loopback = options.loopback ?? false;
    this.noArp = options.noArp ?? this.loopback;
  }

  /** Interface name (the device's). */
  get name(): string {
    return this.dev.name;
  }

  /** IP MTU of the link. */
  get mtu(): number {
    return this.dev.mtu;
  }

  /** True when `a` is on this interface's subnet. */
  onLink(a: Ipv4Address): boolean {
    return ((a ^ this.address) & this.mask) === 0;
  }
}
