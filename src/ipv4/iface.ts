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
  /** No ARP on this link (loopback). */
  readonly noArp: boolean;
  /** The loopback interface. */
  readonly loopback: boolean;
  #address = 0;
  #prefixLength = 32;
  #mask = 0xffffffff;
  #broadcast = -1;

  /** An interface from its options. */
  constructor(options: IfaceOptions) {
    this.index = options.index;
    this.dev = options.dev;
    this.loopback = options.loopback ?? false;
    this.noArp = options.noArp ?? this.loopback;
    this.setAddress(options.address, options.prefixLength);
  }

  /** Our address on this link (0 while unconfigured, e.g. before DHCP). */
  get address(): Ipv4Address {
    return this.#address;
  }
  /** Prefix length of the on-link subnet. */
  get prefixLength(): number {
    return this.#prefixLength;
  }
  /** The subnet mask. */
  get mask(): Ipv4Address {
    return this.#mask;
  }
  /** The subnet's directed broadcast, or -1 for /31 and /32 (none). */
  get broadcast(): number {
    return this.#broadcast;
  }

  /**
   * Change the address (DHCP acquiring or losing a lease): 0/32 means
   * unconfigured. The stack, not this method, updates routes
   * (`Stack.configureInterface`).
   */
  setAddress(address: Ipv4Address, prefixLength: number): void {
    if (!(Number.isInteger(prefixLength) && prefixLength >= 0 && prefixLength <= 32)) {
      throw new RangeError(`Interface prefix length ${prefixLength} is outside 0…32`);
    }
    this.#address = address >>> 0;
    this.#prefixLength = prefixLength;
    this.#mask = prefixToMask(prefixLength);
    this.#broadcast = directedBroadcast(this.#address & this.#mask, prefixLength) ?? -1;
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
