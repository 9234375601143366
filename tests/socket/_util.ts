/**
 * Small helpers for socket-layer tests: expect an errno from a call or a
 * Promise, open a UDP socket in one line.
 *
 * @module
 */
import * as assert from "uvu/assert";
import type { Stack } from "../../src/api/stack.ts";
import type { SockAddrInput } from "../../src/socket/address.ts";
import { AF_INET, SOCK_DGRAM } from "../../src/socket/constants.ts";
import { NetError } from "../../src/socket/errors.ts";

/** `fn()` must throw a `NetError` with errno name `code`; returns it. */
export function throws(fn: () => unknown, code: string): NetError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, NetError, `expected ${code}, got ${e}`);
    assert.is((e as NetError).code, code, String(e));
    return e as NetError;
  }
  return assert.unreachable(`expected ${code}, nothing was thrown`) as never;
}

/** `p` must reject with a `NetError` with errno name `code`; returns it. */
export async function rejects(p: Promise<unknown>, code: string): Promise<NetError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, NetError, `expected ${code}, got ${e}`);
    assert.is((e as NetError).code, code, String(e));
    return e as NetError;
  }
  return assert.unreachable(`expected ${code}, the promise resolved`) as never;
}

/** A new AF_INET/SOCK_DGRAM socket on `stack`, bound to `bind` when given. */
export function udpSocket(stack: Stack, bind?: SockAddrInput): number {
  const fd = stack.sockets.socket(AF_INET, SOCK_DGRAM, 0);
  if (bind !== undefined) stack.sockets.bind(fd, bind);
  return fd;
}

/** Text → bytes. */
export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Bytes → text. */
export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}
