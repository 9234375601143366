/**
 * {@link ScriptSockets} over the stack's BSD socket layer (`stack.sockets`):
 * script calls become `socket()`, `bind()`, `connect()`, `sendto()`,
 * `recv()`, … on its descriptors, with the layer's own blocking (promises on
 * the stack's clock) and its typed errors (`NetError` with an errno `code`).
 *
 * Stream calls work once TCP's stream ops are registered with the layer;
 * until then `socket(..., SOCK_STREAM, ...)` fails with ESOCKTNOSUPPORT,
 * which a script sees as `= -1 ESOCKTNOSUPPORT`.
 *
 * @module
 */
import type { Stack } from "../api/stack.ts";
import type { ScriptSockets } from "./sockets.ts";
import { SCRIPT_SYMBOLS as S } from "./symbols.ts";

/**
 * The adapter {@link stackTarget} uses by default.
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { bsdSockets } from "./bsd_adapter.ts";
 * const stack = new Stack({ clock: new VirtualClock() });
 * const s = bsdSockets(stack);
 * const fd = s.socket(2, 2, 17); // AF_INET, SOCK_DGRAM, IPPROTO_UDP → 3
 * ```
 */
export function bsdSockets(stack: Stack): ScriptSockets {
  const s = stack.sockets;
  return {
    socket: (domain, type, protocol) => s.socket(domain, type, protocol),
    bind: (fd, a) => s.bind(fd, { address: a.address, port: a.port }),
    listen: (fd, backlog) => s.listen(fd, backlog),
    accept: async (fd, flags) => (await s.accept(fd, flags)).fd,
    connect: (fd, a) => s.connect(fd, { address: a.address, port: a.port }),
    send: (fd, data, flags, to) =>
      s.sendto(
        fd,
        data,
        flags,
        to === undefined ? undefined : { address: to.address, port: to.port },
      ),
    recv: (fd, buf, flags) => s.recv(fd, buf, flags),
    shutdown: (fd, how) => s.shutdown(fd, how),
    close: (fd) => s.close(fd),
    setsockopt: (fd, level, name, value) => s.setsockopt(fd, level, name, value),
    getsockopt: (fd, level, name) => s.getsockopt(fd, level, name),
    setNonBlocking: (fd, nonBlocking) => {
      const fl = s.fcntl(fd, S.F_GETFL!);
      s.fcntl(fd, S.F_SETFL!, nonBlocking ? fl | S.O_NONBLOCK! : fl & ~S.O_NONBLOCK!);
    },
  };
}
