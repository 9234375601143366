/**
 * Source address selection (RFC 6724 §5): which of our addresses a packet
 * to a destination goes out from when the application did not choose.
 *
 * Candidates are the usable addresses (preferred or deprecated, never
 * tentative or duplicate, RFC 4862 §5.4 / §5.5.4); for a link-scope
 * destination only those of the outgoing interface (RFC 6724 §4). Between two
 * candidates the rules apply in order: 1 same address, 2 appropriate scope,
 * 3 avoid deprecated, 5 prefer the outgoing interface, 6 matching label
 * (the default policy table of §2.1), 8 longest matching prefix (capped at
 * the candidate's prefix length, as §5 rule 8 recommends). Rules 4 (home
 * addresses) and 7 (temporary addresses) do not apply: this stack has
 * neither.
 *
 * @module
 */
import type { Iface } from "../ipv4/iface.ts";
import {
  commonPrefixLength,
  inPrefix6,
  ip6Equal,
  isLoopback6,
  parseIpv6Address,
  scope6,
} from "../wire/addr6.ts";
import { AddrState, type Inet6Addr, type Ipv6Devices } from "./inet6_dev.ts";

/** RFC 6724 §2.1 default policy table: prefix, length, label (longest prefix wins). */
const POLICY: readonly { prefix: Uint8Array; len: number; label: number }[] = [
  { prefix: parseIpv6Address("::1"), len: 128, label: 0 },
  { prefix: parseIpv6Address("::ffff:0:0"), len: 96, label: 4 },
  { prefix: parseIpv6Address("::"), len: 96, label: 3 },
  { prefix: parseIpv6Address("2001::"), len: 32, label: 5 },
  { prefix: parseIpv6Address("2002::"), len: 16, label: 2 },
  { prefix: parseIpv6Address("3ffe::"), len: 16, label: 12 },
  { prefix: parseIpv6Address("fec0::"), len: 10, label: 11 },
  { prefix: parseIpv6Address("fc00::"), len: 7, label: 13 },
  { prefix: parseIpv6Address("::"), len: 0, label: 1 },
];

/**
 * The RFC 6724 §2.1 default policy label of the address at `u8[off]`.
 *
 * @example
 * ```ts
 * import { policyLabel } from "./select.ts";
 * import { parseIpv6Address } from "../wire/addr6.ts";
 * policyLabel(parseIpv6Address("::1"), 0); // 0
 * policyLabel(parseIpv6Address("fd00::1"), 0); // 13
 * ```
 */
export function policyLabel(u8: Uint8Array, off: number): number {
  for (const p of POLICY) if (inPrefix6(u8, off, p.prefix, 0, p.len)) return p.label;
  return 1;
}

interface Candidate {
  addr: Inet6Addr;
  iface: Iface;
}

/**
 * Pick the source for a packet to `dst[dstOff]` leaving through `oif` (null
 * when not known yet), or null when no address is usable.
 *
 * @example
 * ```ts
 * // const a = selectSource(stack.ipv6.devices, dst, 0, route.iface);
 * // a?.address is the source to use
 * ```
 */
export function selectSource(
  devs: Ipv6Devices,
  dst: Uint8Array,
  dstOff: number,
  oif: Iface | null,
): Inet6Addr | null {
  const dScope = scope6(dst, dstOff);
  const dLabel = policyLabel(dst, dstOff);
  const linkScope = dScope <= 2;
  let best: Candidate | null = null;
  for (const dev of devs.all()) {
    if (dev.disabled) continue;
    if (linkScope && oif !== null && dev.iface !== oif) continue;
    for (const a of dev.addrs) {
      if (!a.usable) continue;
      // ::1 is only a source for ::1 (RFC 4291 §2.5.3: never sent off the host).
      if (isLoopback6(a.address, 0) && !isLoopback6(dst, dstOff)) continue;
      const c: Candidate = { addr: a, iface: dev.iface };
      if (best === null || better(c, best, dst, dstOff, dScope, dLabel, oif)) best = c;
    }
  }
  return best?.addr ?? null;
}

/** True when `a` beats `b` by the first RFC 6724 §5 rule that tells them apart. */
function better(
  a: Candidate,
  b: Candidate,
  d: Uint8Array,
  dOff: number,
  dScope: number,
  dLabel: number,
  oif: Iface | null,
): boolean {
  const sa = a.addr.address, sb = b.addr.address;
  // Rule 1: prefer the same address.
  const aSame = ip6Equal(sa, 0, d, dOff), bSame = ip6Equal(sb, 0, d, dOff);
  if (aSame !== bSame) return aSame;
  // Rule 2: prefer appropriate scope.
  const aScope = scope6(sa, 0), bScope = scope6(sb, 0);
  if (aScope !== bScope) {
    if (aScope < bScope) return aScope >= dScope;
    return bScope < dScope;
  }
  // Rule 3: avoid deprecated addresses.
  const aDep = a.addr.state === AddrState.DEPRECATED, bDep = b.addr.state === AddrState.DEPRECATED;
  if (aDep !== bDep) return bDep;
  // Rule 5: prefer the outgoing interface.
  if (oif !== null) {
    const aOut = a.iface === oif, bOut = b.iface === oif;
    if (aOut !== bOut) return aOut;
  }
  // Rule 6: prefer a matching label.
  const aLab = policyLabel(sa, 0) === dLabel, bLab = policyLabel(sb, 0) === dLabel;
  if (aLab !== bLab) return aLab;
  // Rule 8: longest matching prefix (not beyond the candidate's own prefix).
  const aLen = Math.min(commonPrefixLength(sa, 0, d, dOff), a.addr.prefixLength);
  const bLen = Math.min(commonPrefixLength(sb, 0, d, dOff), b.addr.prefixLength);
  return aLen > bLen;
}
