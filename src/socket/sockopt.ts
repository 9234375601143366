/**
 * setsockopt/getsockopt for the levels every INET socket shares:
 * SOL_SOCKET (`sock_setsockopt`) and SOL_IP (`do_ip_setsockopt`). Values are
 * numbers (booleans as 0/1); an option this socket does not know is
 * ENOPROTOOPT, a value out of range EINVAL.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import {
  IP_FREEBIND,
  IP_MTU_DISCOVER,
  IP_MULTICAST_TTL,
  IP_RECVERR,
  IP_TOS,
  IP_TTL,
  SO_BROADCAST,
  SO_DOMAIN,
  SO_ERROR,
  SO_NO_CHECK,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_SNDTIMEO,
  SO_TYPE,
} from "./constants.ts";
import type { InetConfig, InetSock } from "./inet.ts";
import type { Socket } from "./socket.ts";

/**
 * Largest SO_RCVBUF/SO_SNDBUF request honoured (Linux `net.core.rmem_max` /
 * `wmem_max`); larger values are clamped, then doubled like Linux does.
 *
 * @example
 * ```ts
 * import { SOCK_BUF_MAX } from "./sockopt.ts";
 * SOCK_BUF_MAX; // 212992
 * ```
 */
export const SOCK_BUF_MAX = 212992;
/**
 * Smallest stored SO_RCVBUF: one 2 KiB buffer slot plus its overhead
 * (Linux `SOCK_MIN_RCVBUF`).
 *
 * @example
 * ```ts
 * import { SOCK_MIN_RCVBUF } from "./sockopt.ts";
 * SOCK_MIN_RCVBUF; // 2304
 * ```
 */
export const SOCK_MIN_RCVBUF: number = 2048 + 256;
/**
 * Smallest stored SO_SNDBUF (Linux `SOCK_MIN_SNDBUF`, twice the receive minimum).
 *
 * @example
 * ```ts
 * import { SOCK_MIN_SNDBUF } from "./sockopt.ts";
 * SOCK_MIN_SNDBUF; // 4608
 * ```
 */
export const SOCK_MIN_SNDBUF = 2 * SOCK_MIN_RCVBUF;

/**
 * SOL_SOCKET options kept on the BSD socket itself, the same for every
 * protocol: SO_RCVTIMEO/SO_SNDTIMEO (ms ≥ 0, 0 = none). Returns 0 or
 * -EINVAL when `name` is one of them, `null` when it is not.
 *
 * @example
 * ```ts
 * // socketSetsockopt(sock, SO_RCVTIMEO, 500) → 0; sock.rcvTimeo === 500
 * ```
 */
export function socketSetsockopt(sock: Socket, name: number, value: number): number | null {
  if (name !== SO_RCVTIMEO && name !== SO_SNDTIMEO) return null;
  // Linux rejects a malformed timeval (EDOM); a negative or infinite
  // number is our equivalent.
  if (!(value >= 0 && Number.isFinite(value))) return -Errno.EINVAL;
  if (name === SO_RCVTIMEO) sock.rcvTimeo = value;
  else sock.sndTimeo = value;
  return 0;
}

/**
 * Read a SOL_SOCKET option kept on the BSD socket itself (SO_RCVTIMEO,
 * SO_SNDTIMEO, SO_TYPE, SO_PROTOCOL, SO_DOMAIN); `null` for any other.
 *
 * @example
 * ```ts
 * // socketGetsockopt(sock, SO_TYPE) → 2 for a datagram socket
 * ```
 */
export function socketGetsockopt(sock: Socket, name: number): number | null {
  switch (name) {
    case SO_RCVTIMEO:
      return sock.rcvTimeo;
    case SO_SNDTIMEO:
      return sock.sndTimeo;
    case SO_TYPE:
      return sock.type;
    case SO_PROTOCOL:
      return sock.protocol;
    case SO_DOMAIN:
      return sock.family;
  }
  return null;
}

/**
 * Set a SOL_SOCKET option. Buffer sizes follow Linux: the request is clamped
 * to {@link SOCK_BUF_MAX} (a negative one counts as huge, C's u32 cast),
 * doubled for bookkeeping overhead, and raised to the minimum; getsockopt
 * returns the stored value. Timeouts are milliseconds ≥ 0 (0 = none).
 *
 * @example
 * ```ts
 * // sockSetsockopt(sock, SO_RCVBUF, 4096) → 0; sk.rcvbuf === 8192
 * ```
 */
export function sockSetsockopt<S extends InetSock>(
  sock: Socket<S>,
  name: number,
  value: number,
): number {
  const generic = socketSetsockopt(sock, name, value);
  if (generic !== null) return generic;
  const sk = sock.sk;
  switch (name) {
    case SO_BROADCAST:
      sk.broadcast = value !== 0;
      return 0;
    case SO_REUSEADDR:
      sk.reuse = value !== 0;
      return 0;
    case SO_NO_CHECK:
      sk.noCheck = value !== 0;
      return 0;
    case SO_RCVBUF:
      sk.rcvbuf = Math.max(clampBuf(value) * 2, SOCK_MIN_RCVBUF);
      return 0;
    case SO_SNDBUF:
      sk.sndbuf = Math.max(clampBuf(value) * 2, SOCK_MIN_SNDBUF);
      return 0;
  }
  // SO_ERROR, SO_TYPE, SO_PROTOCOL, SO_DOMAIN are read-only.
  return -Errno.ENOPROTOOPT;
}

/**
 * Read a SOL_SOCKET option; SO_ERROR returns and clears the pending error.
 *
 * @example
 * ```ts
 * // sockGetsockopt(sock, SO_ERROR) → 111 once after a port unreachable, then 0
 * ```
 */
export function sockGetsockopt<S extends InetSock>(sock: Socket<S>, name: number): number {
  const generic = socketGetsockopt(sock, name);
  if (generic !== null) return generic;
  const sk = sock.sk;
  switch (name) {
    case SO_BROADCAST:
      return sk.broadcast ? 1 : 0;
    case SO_REUSEADDR:
      return sk.reuse ? 1 : 0;
    case SO_NO_CHECK:
      return sk.noCheck ? 1 : 0;
    case SO_RCVBUF:
      return sk.rcvbuf;
    case SO_SNDBUF:
      return sk.sndbuf;
    case SO_ERROR: {
      const e = sk.err;
      sk.err = 0;
      return e;
    }
  }
  return -Errno.ENOPROTOOPT;
}

/**
 * Set a SOL_IP option: IP_TTL (1…255, -1 = default; RFC 1122 §3.2.1.7 never
 * TTL 0), IP_TOS (0…255, RFC 1122 §3.2.1.6), IP_MULTICAST_TTL (0…255, -1 =
 * 1), IP_FREEBIND, IP_RECVERR, IP_MTU_DISCOVER (0…5).
 *
 * @example
 * ```ts
 * // ipSetsockopt(sk, IP_TTL, 0) → -22 (EINVAL)
 * ```
 */
export function ipSetsockopt(sk: InetSock, name: number, value: number): number {
  switch (name) {
    case IP_TTL:
      if (value !== -1 && !(Number.isInteger(value) && value >= 1 && value <= 255)) {
        return -Errno.EINVAL;
      }
      sk.ttl = value;
      return 0;
    case IP_TOS:
      if (!(Number.isInteger(value) && value >= 0 && value <= 255)) return -Errno.EINVAL;
      sk.tos = value;
      return 0;
    case IP_MULTICAST_TTL:
      if (value !== -1 && !(Number.isInteger(value) && value >= 0 && value <= 255)) {
        return -Errno.EINVAL;
      }
      sk.mcTtl = value === -1 ? 1 : value;
      return 0;
    case IP_FREEBIND:
      sk.freebind = value !== 0;
      return 0;
    case IP_RECVERR:
      sk.recvErr = value !== 0;
      return 0;
    case IP_MTU_DISCOVER:
      if (!(Number.isInteger(value) && value >= 0 && value <= 5)) return -Errno.EINVAL;
      sk.pmtudisc = value;
      return 0;
  }
  return -Errno.ENOPROTOOPT;
}

/**
 * Read a SOL_IP option (IP_TTL reports the TTL actually used).
 *
 * @example
 * ```ts
 * // ipGetsockopt(sk, IP_TTL, config) → 64 on a fresh socket
 * ```
 */
export function ipGetsockopt(sk: InetSock, name: number, cfg: InetConfig): number {
  switch (name) {
    case IP_TTL:
      return sk.ttl < 0 ? cfg.defaultTtl : sk.ttl;
    case IP_TOS:
      return sk.tos;
    case IP_MULTICAST_TTL:
      return sk.mcTtl;
    case IP_FREEBIND:
      return sk.freebind ? 1 : 0;
    case IP_RECVERR:
      return sk.recvErr ? 1 : 0;
    case IP_MTU_DISCOVER:
      return sk.pmtudisc;
  }
  return -Errno.ENOPROTOOPT;
}

function clampBuf(v: number): number {
  if (!Number.isFinite(v) || v < 0) return SOCK_BUF_MAX;
  return Math.min(Math.floor(v), SOCK_BUF_MAX);
}
