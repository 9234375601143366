import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { Errno } from "../../src/core/errno.ts";
import { KeyedHash } from "../../src/core/hash.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { ipv4 } from "../../src/wire/addr.ts";
import type { TcpTableEntry } from "../../src/tcp/tables.ts";
import {
  createTcpTables,
  establishedHash,
  establishedHash6,
  type TcpTablesImplOptions,
} from "../../src/tcp/tables_impl.ts";
import { parseIpv6Address } from "../../src/wire/addr6.ts";

const A = ipv4(192, 0, 2, 1);
const A2 = ipv4(192, 0, 2, 9);
const R = ipv4(198, 51, 100, 7);
const { EADDRINUSE, EADDRNOTAVAIL, EINVAL, EISCONN } = Errno;

/** A table entry with every field writable, as a TCB would be. */
type Sk = { -readonly [K in keyof TcpTableEntry]: TcpTableEntry[K] };

function sock(o: Partial<Sk> = {}): Sk {
  return {
    laddr: 0,
    lport: 0,
    raddr: 0,
    rport: 0,
    reuseAddr: false,
    isTimeWait: false,
    tsRecent: -1,
    tsRecentStamp: 0,
    userBoundPort: false,
    ...o,
  };
}

/** A TIME-WAIT entry for `sk`'s 4-tuple. */
function timeWait(sk: TcpTableEntry, tsRecent: number, tsRecentStamp: number): Sk {
  const { laddr, lport, raddr, rport } = sk;
  return sock({ laddr, lport, raddr, rport, isTimeWait: true, tsRecent, tsRecentStamp });
}

function setup(o: Partial<TcpTablesImplOptions> = {}, seed = testSeed()) {
  const clock = { t: 0 };
  const rng = new SeededRandom(seed);
  const reused: [TcpTableEntry, TcpTableEntry][] = [];
  const tables = createTcpTables({
    now: () => clock.t,
    nextU32: () => rng.nextU32(),
    onTimeWaitReuse: (tw, sk) => reused.push([tw, sk]),
    ...o,
  });
  return { tables, clock, reused };
}

// ---------------------------------------------------------------------------
// bind

test("bind: an overlapping address (equal or wildcard) on a taken port is EADDRINUSE; distinct addresses share", () => {
  const { tables } = setup();
  assert.is(tables.bind(sock(), 0, 80), 0);
  const loser = sock();
  assert.is(tables.bind(loser, 0, 80), -EADDRINUSE);
  assert.is(tables.bind(loser, A, 80), -EADDRINUSE);
  assert.is(loser.lport, 0, "a failed bind leaves the socket alone");

  const t2 = setup().tables;
  const s1 = sock();
  assert.is(t2.bind(s1, A, 80), 0);
  assert.equal([s1.laddr, s1.lport, s1.userBoundPort], [A, 80, true]);
  assert.is(t2.bind(sock(), 0, 80), -EADDRINUSE, "wildcard over a specific holder");
  assert.is(t2.bind(sock(), A, 80), -EADDRINUSE, "same specific address");
  assert.is(t2.bind(sock(), A2, 80), 0, "another specific address does not overlap");
  assert.is(t2.bind(sock(), A, 81), 0, "another port");
});

test("bind: SO_REUSEADDR lets bound, non-listening sockets share only when both set it", () => {
  const { tables } = setup();
  assert.is(tables.bind(sock({ reuseAddr: true }), 0, 80), 0);
  assert.is(tables.bind(sock({ reuseAddr: false }), 0, 80), -EADDRINUSE, "binder without it");
  assert.is(tables.bind(sock({ reuseAddr: true }), 0, 80), 0);
  assert.is(tables.bind(sock({ reuseAddr: true }), A, 80), 0);

  const t2 = setup().tables;
  assert.is(t2.bind(sock({ reuseAddr: false }), 0, 80), 0);
  assert.is(t2.bind(sock({ reuseAddr: true }), 0, 80), -EADDRINUSE, "holder without it");
  assert.is(t2.bind(sock({ reuseAddr: true }), A, 80), -EADDRINUSE);
});

test("bind/listen: SO_REUSEADDR never admits a second listener on one address; listen() re-checks", () => {
  const { tables } = setup();
  const l = sock({ reuseAddr: true });
  assert.is(tables.bind(l, 0, 80), 0);
  assert.is(tables.listen(l), 0);
  assert.is(tables.listen(l), 0, "listen on a listener only updates the backlog");
  assert.is(tables.bind(sock({ reuseAddr: true }), 0, 80), -EADDRINUSE, "holder is LISTEN");

  // Two sockets share a port while bound; only the first to listen wins.
  const s1 = sock({ reuseAddr: true }), s2 = sock({ reuseAddr: true });
  assert.is(tables.bind(s1, A, 81), 0);
  assert.is(tables.bind(s2, A, 81), 0);
  assert.is(tables.listen(s2), 0);
  assert.is(tables.listen(s1), -EADDRINUSE);
  assert.is(tables.lookupListener(A, 81), s2);

  // A listener that did not set SO_REUSEADDR keeps its port even from binders that did.
  const l3 = sock();
  assert.is(tables.bind(l3, A, 82), 0);
  assert.is(tables.listen(l3), 0);
  assert.is(tables.bind(sock({ reuseAddr: true }), 0, 82), -EADDRINUSE);
  assert.is(tables.bind(sock({ reuseAddr: true }), A, 82), -EADDRINUSE);

  // listen() on an unbound socket binds an ephemeral port first (inet_csk_listen_start).
  const auto = sock();
  assert.is(tables.listen(auto), 0);
  assert.ok(auto.lport >= 32768 && auto.lport <= 60999 && auto.userBoundPort);
  assert.is(tables.lookupListener(A2, auto.lport), auto);
});

test("lookupListener: a specific-address listener before the wildcard one, the wildcard for the rest", () => {
  for (const specificFirst of [true, false]) {
    const { tables } = setup();
    const wild = sock({ reuseAddr: true }), spec = sock({ reuseAddr: true });
    const order = specificFirst ? [[spec, A], [wild, 0]] as const : [[wild, 0], [spec, A]] as const;
    for (const [sk, addr] of order) {
      assert.is(tables.bind(sk, addr, 80), 0);
      assert.is(tables.listen(sk), 0);
    }
    assert.is(tables.lookupListener(A, 80), spec);
    assert.is(tables.lookupListener(A2, 80), wild);
    assert.is(tables.lookupListener(A, 81), null);
    assert.is(tables.stats().listeners, 2);
    tables.unhash(spec);
    assert.is(tables.lookupListener(A, 80), wild);
    tables.unhash(wild);
    assert.is(tables.lookupListener(A2, 80), null);
    assert.is(tables.stats().boundPorts, 0);
  }
  const { tables } = setup();
  const only = sock();
  tables.bind(only, A, 443);
  tables.listen(only);
  assert.is(tables.lookupListener(A, 443), only);
  assert.is(
    tables.lookupListener(A2, 443),
    null,
    "a specific listener does not catch other addresses",
  );
});

test("bind: a TIME-WAIT holder conflicts only with a binder lacking SO_REUSEADDR", () => {
  const { tables } = setup();
  const c = sock();
  assert.is(tables.connect(c, A, R, 80), 0);
  const tw = timeWait(c, 100, 0); // reuseAddr false: the binder's flag alone decides
  tables.replace(c, tw);
  const port = c.lport;
  assert.is(tables.bind(sock(), 0, port), -EADDRINUSE);
  assert.is(tables.bind(sock(), A, port), -EADDRINUSE);
  const r = sock({ reuseAddr: true });
  assert.is(tables.bind(r, 0, port), 0);
  tables.unhash(r);
  assert.is(tables.bind(sock(), A2, port), 0, "no overlap with the TIME-WAIT's address");
  assert.is(tables.lookupEstablished(A, port, R, 80), tw, "binding does not disturb the TIME-WAIT");
});

test("bind: EINVAL for a second bind of one socket and for bad ports; unhash frees the port", () => {
  const { tables } = setup();
  const s = sock();
  assert.is(tables.bind(s, 0, 80), 0);
  assert.is(tables.bind(s, 0, 81), -EINVAL);
  assert.is(tables.bind(s, 0, 0), -EINVAL);
  for (const bad of [-1, 65536, 1.5, NaN]) assert.is(tables.bind(sock(), 0, bad), -EINVAL);
  const c = sock();
  assert.is(tables.connect(c, A, R, 80), 0);
  assert.is(tables.bind(c, 0, 90), -EINVAL, "a connected socket already has its port");
  tables.unhash(s);
  tables.unhash(s); // idempotent
  assert.is(tables.bind(sock(), 0, 80), 0);
  assert.is(tables.bind(s, 0, 82), 0, "an unhashed socket may bind again");
});

test("bind(port 0): random ports in the range, never reserved, EADDRINUSE when none is left", () => {
  const reserved = Array.from({ length: 10 }, (_, i) => 40000 + i);
  const firsts = new Set<number>();
  for (let seed = 1; seed <= 10; seed++) {
    const { tables } = setup({ portRange: [40000, 40099], reservedPorts: reserved }, seed);
    const ports = new Set<number>();
    for (let i = 0; i < 90; i++) {
      const s = sock();
      assert.is(tables.bind(s, 0, 0), 0);
      assert.ok(s.lport >= 40010 && s.lport <= 40099, `${s.lport}`);
      assert.ok(s.userBoundPort);
      ports.add(s.lport);
      if (i === 0) firsts.add(s.lport);
    }
    assert.is(ports.size, 90);
    assert.is(tables.bind(sock(), 0, 0), -EADDRINUSE);
    assert.is(tables.bind(sock(), 0, 40000), 0, "a reserved port is still bindable explicitly");
  }
  assert.ok(firsts.size >= 8, `random start: ${[...firsts]}`);
});

// ---------------------------------------------------------------------------
// MUST-41 / MUST-42

test("MUST-41: a passive OPEN never affects existing connections", () => {
  const { tables } = setup();
  const c = sock();
  assert.is(tables.bind(c, A, 5000), 0);
  assert.is(tables.connect(c, A, R, 80), 0);
  const before = { ...c };
  // A failed passive open (no SO_REUSEADDR) leaves the connection alone…
  const bad = sock();
  assert.is(tables.bind(bad, 0, 5000), -EADDRINUSE);
  assert.is(tables.listen(sock({ laddr: 0 })), 0); // an unrelated ephemeral listener
  // …and so does a successful one on the very same port.
  const l = sock({ reuseAddr: true });
  assert.is(tables.bind(l, 0, 5000), 0);
  assert.is(tables.listen(l), 0);
  assert.is(tables.lookupEstablished(A, 5000, R, 80), c);
  assert.equal({ ...c }, before);
  assert.is(tables.establishedCount, 1);
  assert.is(tables.lookupListener(A, 5000), l);
  // Closing the listener does not touch the connection either.
  tables.unhash(l);
  assert.is(tables.lookupEstablished(A, 5000, R, 80), c);
});

test("MUST-42: LISTEN on a port while an active open from it is in SYN-SENT/SYN-RECEIVED", () => {
  const { tables } = setup();
  // Explicit port, active open in progress (SYN-SENT, or SYN-RECEIVED after a simultaneous open).
  const a = sock();
  assert.is(tables.bind(a, A, 6000), 0);
  assert.is(tables.connect(a, A, R, 80), 0);
  const l = sock({ reuseAddr: true });
  assert.is(tables.bind(l, 0, 6000), 0, "the active socket needed no SO_REUSEADDR");
  assert.is(tables.listen(l), 0);
  assert.is(tables.lookupListener(A, 6000), l);
  assert.is(tables.lookupEstablished(A, 6000, R, 80), a);

  // Ephemeral port from connect.
  const b = sock();
  assert.is(tables.connect(b, A, R, 80), 0);
  const l2 = sock({ reuseAddr: true });
  assert.is(tables.bind(l2, A, b.lport), 0);
  assert.is(tables.listen(l2), 0);
  // Without SO_REUSEADDR on the listener the answer is Linux's: EADDRINUSE.
  assert.is(tables.bind(sock(), 0, b.lport), -EADDRINUSE);
  // The listener's SYNs and the connection's segments stay apart.
  assert.is(tables.lookupEstablished(A, b.lport, R, 80), b);
  assert.is(tables.lookupListener(A, b.lport), l2);
});

// ---------------------------------------------------------------------------
// connect: port selection

test("connect: 10,000 connects to one remote get unique 4-tuples, then EADDRNOTAVAIL", () => {
  const { tables } = setup({ portRange: [20000, 29999] });
  const ports = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const s = sock();
    assert.is(tables.connect(s, A, R, 80), 0);
    assert.ok(s.lport >= 20000 && s.lport <= 29999 && !s.userBoundPort);
    assert.equal([s.laddr, s.raddr, s.rport], [A, R, 80]);
    ports.add(s.lport);
  }
  assert.is(ports.size, 10_000);
  assert.is(tables.establishedCount, 10_000);
  const late = sock();
  assert.is(tables.connect(late, A, R, 80), -EADDRNOTAVAIL);
  assert.is(late.lport, 0);
  // Ports are shared across destinations: another remote port still connects.
  assert.is(tables.connect(late, A, R, 81), 0);
  assert.ok(tables.stats().ehashMaxChain <= 12, `${tables.stats().ehashMaxChain}`);
});

/** Pearson correlation of x[i] and x[i+1]. */
function serialCorrelation(x: number[]): number {
  const n = x.length - 1;
  let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i]!, b = x[i + 1]!;
    sa += a, sb += b, saa += a * a, sbb += b * b, sab += a * b;
  }
  return (n * sab - sa * sb) / Math.sqrt((n * saa - sa * sa) * (n * sbb - sb * sb));
}

test("connect (RFC 6056, N2): ports for different remotes spread over the range with no sequential pattern", () => {
  const { tables } = setup();
  const ports: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const s = sock();
    assert.is(tables.connect(s, A, (R + i) >>> 0, 443), 0);
    ports.push(s.lport);
  }
  const bins = new Array(32).fill(0);
  for (const p of ports) bins[Math.floor(((p - 32768) / 28232) * 32)]++;
  const e = ports.length / 32;
  const chi = bins.reduce((s, c) => s + (c - e) ** 2 / e, 0);
  assert.ok(chi < 61.1, `chi-square ${chi} over 31 degrees of freedom (p = 0.001: 61.1)`);
  let near = 0;
  const steps = new Map<number, number>();
  for (let i = 1; i < ports.length; i++) {
    const d = ports[i]! - ports[i - 1]!;
    if (Math.abs(d) <= 16) near++;
    steps.set(d, (steps.get(d) ?? 0) + 1);
  }
  assert.ok(near < 20, `${near} successive ports within 16 of each other`);
  // Random ports repeat a step by chance (~190 pairs here), but no step dominates.
  const commonest = Math.max(...steps.values());
  assert.ok(commonest <= 6, `one step occurs ${commonest} times`);
  assert.ok(Math.abs(serialCorrelation(ports)) < 0.06, `${serialCorrelation(ports)}`);

  // Algorithm 4 for one destination: each connect moves the perturbation on by
  // a small random step, so the sequence cycles the range without repeating.
  const same: number[] = [];
  for (let i = 0; i < 200; i++) {
    const s = sock();
    assert.is(tables.connect(s, A2, R, 25), 0);
    same.push(s.lport);
  }
  const sameSteps = same.slice(1).map((p, i) => (p - same[i]! + 28232) % 28232);
  assert.ok(sameSteps.every((d) => d >= 1), "no port repeats for one destination");
  assert.ok(new Set(sameSteps).size > 4, `steps ${[...new Set(sameSteps)]} are not constant`);

  // The secret decides where a destination starts.
  const starts = new Set<number>();
  for (let seed = 1; seed <= 20; seed++) {
    const s = sock();
    setup({}, seed).tables.connect(s, A, R, 80);
    starts.add(s.lport);
  }
  assert.ok(starts.size >= 19, `${starts.size} distinct first ports over 20 secrets`);
});

test("connect: explicitly bound ports (bind(port) or bind(0)) and listeners' children are never picked", () => {
  const { tables } = setup({ portRange: [40000, 40099] });
  const bound = new Set<number>();
  for (let p = 40000; p < 40100; p += 4) {
    assert.is(tables.bind(sock(), A, p), 0);
    bound.add(p);
  }
  for (let i = 0; i < 20; i++) {
    const s = sock();
    assert.is(tables.bind(s, 0, 0), 0);
    bound.add(s.lport);
  }
  // A listener's accepted child keeps the port bind()-owned after the listener closes.
  const l = sock();
  const free = [...Array(100).keys()].map((i) => 40000 + i).find((p) => !bound.has(p))!;
  assert.is(tables.bind(l, 0, free), 0);
  assert.is(tables.listen(l), 0);
  const child = sock({ laddr: A, lport: free, raddr: ipv4(203, 0, 113, 5), rport: 5555 });
  assert.is(tables.hashEstablished(child), 0);
  tables.unhash(l);
  bound.add(free);
  assert.is(bound.size, 46);

  let ok = 0;
  for (;;) {
    const s = sock();
    const err = tables.connect(s, A, R, 80);
    if (err !== 0) {
      assert.is(err, -EADDRNOTAVAIL);
      break;
    }
    assert.not.ok(bound.has(s.lport), `picked bound port ${s.lport}`);
    ok++;
  }
  assert.is(ok, 100 - 46);
});

test("connect: reserved ports are skipped", () => {
  const reservedPorts = Array.from({ length: 15 }, (_, i) => 40000 + i);
  const { tables } = setup({ portRange: [40000, 40019], reservedPorts });
  const got: number[] = [];
  for (;;) {
    const s = sock();
    if (tables.connect(s, A, R, 80) !== 0) break;
    got.push(s.lport);
  }
  assert.equal(got.sort(), [40015, 40016, 40017, 40018, 40019]);
});

test("connect: a bound port checks only the 4-tuple, so it can fail after bind (as Linux __inet_hash_connect)", () => {
  const { tables } = setup();
  const s1 = sock({ reuseAddr: true }), s2 = sock({ reuseAddr: true });
  assert.is(tables.bind(s1, 0, 7000), 0);
  assert.is(tables.bind(s2, 0, 7000), 0);
  assert.is(tables.connect(s1, A, R, 80), 0);
  assert.equal([s1.laddr, s1.lport, s1.raddr, s1.rport, s1.userBoundPort], [A, 7000, R, 80, true]);
  assert.is(tables.connect(s2, A, R, 80), -EADDRNOTAVAIL);
  assert.equal([s2.lport, s2.raddr], [7000, 0], "a failed connect leaves the socket bound");
  assert.is(tables.connect(s2, A, R, 81), 0);
  assert.is(tables.connect(s2, A, R, 82), -EISCONN);

  const s3 = sock();
  assert.is(tables.bind(s3, A2, 7001), 0);
  assert.is(tables.connect(s3, A, R, 80), -EINVAL, "bound to another source address");
  assert.is(tables.connect(sock(), 0, R, 80), -EINVAL);
  assert.is(tables.connect(sock(), A, 0, 80), -EINVAL);
  assert.is(tables.connect(sock(), A, R, 70000), -EINVAL);
  const l = sock();
  tables.listen(l);
  assert.is(tables.connect(l, A, R, 80), -EISCONN);

  // A port set without bind() is used as is; only its 4-tuple is checked.
  const pre = sock({ lport: 7000 });
  assert.is(tables.connect(pre, A, R, 80), -EADDRNOTAVAIL);
  assert.is(tables.connect(pre, A, R, 83), 0);
  assert.is(tables.lookupEstablished(A, 7000, R, 83), pre);
});

test("TIME-WAIT reuse by an ephemeral connect: timestamps, tcp_tw_reuse and TS.Recent older than 1 s", () => {
  const run = (tsRecent: number, twReuse: boolean) => {
    const { tables, clock, reused } = setup({ portRange: [40000, 40000], twReuse });
    const c = sock();
    assert.is(tables.connect(c, A, R, 80), 0);
    const tw = timeWait(c, tsRecent, 0);
    tables.replace(c, tw);
    const d = sock();
    const at = (t: number) => {
      clock.t = t;
      return tables.connect(d, A, R, 80);
    };
    return { tables, reused, tw, d, at };
  };

  const { tables, reused, tw, d, at } = run(12345, true);
  assert.is(at(0), -EADDRNOTAVAIL);
  assert.is(at(1000), -EADDRNOTAVAIL, "exactly 1 s is not enough (> 1 s)");
  assert.is(reused.length, 0);
  assert.is(at(1001), 0);
  assert.equal(reused, [[tw, d]]);
  assert.is(d.lport, 40000);
  assert.is(tables.lookupEstablished(A, 40000, R, 80), d);
  assert.is(tables.establishedCount, 1);
  tables.unhash(tw); // the caller killing the TIME-WAIT afterwards is harmless
  assert.is(tables.lookupEstablished(A, 40000, R, 80), d);

  const noTs = run(-1, true);
  assert.is(noTs.at(1e6), -EADDRNOTAVAIL, "no timestamps: never");
  const off = run(12345, false);
  assert.is(off.at(1e6), -EADDRNOTAVAIL, "tcp_tw_reuse off: never");
  assert.is(off.reused.length + noTs.reused.length, 0);
  // Another destination shares the port without touching the TIME-WAIT.
  const other = sock();
  assert.is(off.tables.connect(other, A, R, 81), 0);
  assert.is(off.tables.lookupEstablished(A, 40000, R, 80), off.tw);
});

test("TIME-WAIT on an explicitly bound port: displaced at once when it has timestamps (tcp_twsk_unique, twp == NULL)", () => {
  for (const tsRecent of [7, -1]) {
    const { tables, reused } = setup({ twReuse: false });
    const c = sock();
    assert.is(tables.bind(c, A, 7000), 0);
    assert.is(tables.connect(c, A, R, 80), 0);
    const tw = timeWait(c, tsRecent, 0);
    tables.replace(c, tw);
    const s = sock({ reuseAddr: true });
    assert.is(tables.bind(s, 0, 7000), 0);
    if (tsRecent >= 0) {
      assert.is(tables.connect(s, A, R, 80), 0);
      assert.equal(reused, [[tw, s]]);
      assert.is(tables.lookupEstablished(A, 7000, R, 80), s);
    } else {
      assert.is(tables.connect(s, A, R, 80), -EADDRNOTAVAIL);
      assert.is(tables.lookupEstablished(A, 7000, R, 80), tw);
    }
  }
});

// ---------------------------------------------------------------------------
// replace / hashEstablished / the established table

test("replace(): the TIME-WAIT entry takes over lookups, the port and the count", () => {
  const { tables } = setup();
  const c = sock();
  assert.is(tables.connect(c, A, R, 80), 0);
  const port = c.lport;
  const tw = timeWait(c, 5, 0);
  tables.replace(c, tw);
  assert.is(tables.lookupEstablished(A, port, R, 80), tw);
  assert.is(tables.establishedCount, 1);
  assert.is(tw.userBoundPort, false, "the TIME-WAIT inherits the port's origin");
  assert.is(tables.bind(sock(), 0, port), -EADDRINUSE, "the TIME-WAIT holds the port");
  tables.unhash(c); // the old socket is no longer in any table: no effect
  assert.is(tables.lookupEstablished(A, port, R, 80), tw);
  assert.throws(() => tables.replace(c, sock()), /not in the established table/);
  assert.throws(
    () => tables.replace(tw, sock({ laddr: A, lport: port, raddr: R, rport: 81 })),
    /4-tuple/,
  );
  tables.unhash(tw);
  assert.is(tables.lookupEstablished(A, port, R, 80), null);
  assert.is(tables.establishedCount, 0);
  assert.is(tables.stats().boundPorts, 0);
  assert.is(tables.bind(sock(), 0, port), 0);
});

test("hashEstablished: children join the listener's port, refuse duplicates, and outlive the listener", () => {
  const { tables } = setup();
  const l = sock({ reuseAddr: true });
  assert.is(tables.bind(l, 0, 80), 0);
  assert.is(tables.listen(l), 0);
  const child = sock({ laddr: A, lport: 80, raddr: R, rport: 5555, reuseAddr: true });
  assert.is(tables.hashEstablished(child), 0);
  assert.ok(child.userBoundPort);
  assert.is(tables.hashEstablished(child), -EINVAL, "already hashed");
  assert.is(
    tables.hashEstablished(sock({ laddr: A, lport: 80, raddr: R, rport: 5555 })),
    -EADDRINUSE,
  );
  assert.is(tables.hashEstablished(sock({ laddr: A, lport: 0, raddr: R, rport: 1 })), -EINVAL);
  assert.is(tables.hashEstablished(sock({ laddr: 0, lport: 80, raddr: R, rport: 1 })), -EINVAL);
  assert.is(tables.lookupEstablished(A, 80, R, 5555), child);
  tables.unhash(l);
  assert.is(tables.bind(sock(), 0, 80), -EADDRINUSE, "the child still holds port 80");
  const l2 = sock({ reuseAddr: true });
  assert.is(tables.bind(l2, 0, 80), 0, "a restarted server with SO_REUSEADDR gets it back");
  assert.is(tables.listen(l2), 0);
  assert.is(tables.lookupEstablished(A, 80, R, 5555), child);
});

test("established table (§8 row 18): 4-tuples crafted to collide under a known key stay spread under the secret one", () => {
  // Craft 300 4-tuples whose hash has its low 12 bits zero under KNOWN: they
  // share one chain for any table of up to 4096 buckets keyed with KNOWN.
  const KNOWN: [number, number] = [0x01234567, 0x89abcdef];
  const h = new KeyedHash(new SeededRandom(0), KNOWN);
  const evil: Sk[] = [];
  for (let i = 0; evil.length < 300; i++) {
    const raddr = (ipv4(203, 0, 0, 0) + (i >>> 16)) >>> 0, rport = i & 0xffff;
    if ((establishedHash(h, A, 80, raddr, rport) & 0xfff) === 0) {
      evil.push(sock({ laddr: A, lport: 80, raddr, rport }));
    }
  }
  const insertAll = (nextU32: () => number) => {
    const tables = createTcpTables({ now: () => 0, nextU32 });
    for (const e of evil) assert.is(tables.hashEstablished({ ...e }), 0);
    for (const e of evil) assert.ok(tables.lookupEstablished(A, 80, e.raddr, e.rport));
    return tables.stats();
  };
  // The established table draws its key first: feed it KNOWN to show the attack is real.
  const rng = new SeededRandom(testSeed());
  const script = [...KNOWN];
  const known = insertAll(() => script.shift() ?? rng.nextU32());
  assert.is(known.ehashMaxChain, 300, "under the known key every crafted tuple shares a chain");
  const secret = insertAll(() => rng.nextU32());
  assert.ok(secret.ehashBuckets >= 300);
  assert.ok(secret.ehashMaxChain <= 8, `longest chain ${secret.ehashMaxChain}`);
});

test("established table: churn keeps counts, lookups and short chains", () => {
  const { tables } = setup();
  const rng = new SeededRandom(testSeed() + 1);
  const live: Sk[] = [];
  for (let round = 0; round < 20_000; round++) {
    if (live.length > 0 && rng.nextU32() % 3 === 0) {
      const i = rng.nextU32() % live.length;
      const gone = live[i]!;
      live[i] = live[live.length - 1]!;
      live.pop();
      tables.unhash(gone);
      assert.is(tables.lookupEstablished(gone.laddr, gone.lport, gone.raddr, gone.rport), null);
    } else {
      const s = sock();
      assert.is(tables.connect(s, A, rng.nextU32() || 1, rng.nextU32() & 0xffff), 0);
      live.push(s);
    }
  }
  assert.is(tables.establishedCount, live.length);
  for (const s of live) assert.is(tables.lookupEstablished(s.laddr, s.lport, s.raddr, s.rport), s);
  const st = tables.stats();
  assert.ok(st.ehashMaxChain <= 10, `longest chain ${st.ehashMaxChain}`);
  assert.is(st.boundPorts, new Set(live.map((s) => s.lport)).size);
});

// ---------------------------------------------------------------------------
// IPv6 (one set of tables for both families, Linux ipv6_rcv_saddr_equal)

const L6 = parseIpv6Address("2001:db8::1");
const L6B = parseIpv6Address("2001:db8::9");
const R6 = parseIpv6Address("2001:db8:1::7");
const ANY6 = new Uint8Array(16);

/** Where a packet from R6:rport to L6:lport keeps its addresses: dst at 24, src at 8 (an IPv6 header). */
function packet(l: Uint8Array, r: Uint8Array): Uint8Array {
  const u8 = new Uint8Array(40);
  u8.set(r, 8);
  u8.set(l, 24);
  return u8;
}

test("IPv6 bind: equal or :: addresses on a port collide; across families only a dual-stack :: claims IPv4", () => {
  const { tables } = setup();
  assert.is(tables.bind6(sock(), L6, 0, 80), 0);
  assert.is(tables.bind6(sock(), L6, 0, 80), -EADDRINUSE, "same IPv6 address");
  assert.is(tables.bind6(sock(), ANY6, 0, 80), -EADDRINUSE, ":: over a specific IPv6 holder");
  assert.is(tables.bind6(sock(), L6B, 0, 80), 0, "another IPv6 address");
  assert.is(tables.bind(sock(), 0, 80), 0, "0.0.0.0 does not overlap specific IPv6 addresses");
  const dual = setup().tables;
  const d = sock();
  assert.is(dual.bind6(d, ANY6, 0, 443), 0);
  assert.ok(d.addr6 !== null && d.addr6 !== undefined && d.addr6.length === 32, "addr6 written");
  assert.is(dual.bind(sock(), A, 443), -EADDRINUSE, "a dual :: claims every IPv4 address");
  assert.is(dual.bind(sock(), 0, 443), -EADDRINUSE);
  const only = setup().tables;
  assert.is(only.bind6(sock({ v6only: true }), ANY6, 0, 443), 0);
  assert.is(only.bind(sock(), 0, 443), 0, "IPV6_V6ONLY: IPv4 is free");
  assert.is(only.bind6(sock(), ANY6, 0, 443), -EADDRINUSE, ":: and :: collide whatever V6ONLY");
});

test("IPv6 listeners: a specific address before ::; IPv4 SYNs reach a dual :: after any IPv4 listener, never a V6ONLY one", () => {
  const { tables } = setup();
  const any = sock({ reuseAddr: true });
  const spec = sock({ reuseAddr: true });
  assert.is(tables.bind6(any, ANY6, 0, 80), 0);
  assert.is(tables.listen(any), 0);
  assert.is(tables.bind6(spec, L6, 0, 80), 0);
  assert.is(tables.listen(spec), 0);
  const u8 = packet(L6, R6);
  assert.is(tables.lookupListener6(u8, 24, 80), spec);
  assert.is(tables.lookupListener6(packet(L6B, R6), 24, 80), any);
  assert.is(tables.lookupListener(A, 80), any, "dual stack: IPv4 reaches ::");
  assert.is(tables.lookupListener6(u8, 24, 81), null);
  const v4 = setup().tables;
  const dual = sock({ reuseAddr: true });
  const four = sock({ reuseAddr: true });
  v4.bind6(dual, ANY6, 0, 80);
  v4.listen(dual);
  v4.bind(four, A, 80);
  v4.listen(four);
  assert.is(v4.lookupListener(A, 80), four, "a specific IPv4 listener wins");
  assert.is(v4.lookupListener(A2, 80), dual);
  const only = setup().tables;
  const six = sock({ v6only: true });
  only.bind6(six, ANY6, 0, 80);
  only.listen(six);
  assert.is(only.lookupListener(A, 80), null, "IPV6_V6ONLY");
  assert.is(only.lookupListener6(u8, 24, 80), six);
});

test("IPv6 connect: ephemeral ports give unique 4-tuples found in place in a packet; unhash forgets them", () => {
  const { tables } = setup();
  const socks: Sk[] = [];
  for (let i = 0; i < 300; i++) {
    const sk = sock();
    assert.is(tables.connect6(sk, L6, R6, 80), 0);
    socks.push(sk);
  }
  assert.is(new Set(socks.map((s) => s.lport)).size, 300);
  const u8 = packet(L6, R6);
  for (const sk of socks) {
    assert.is(tables.lookupEstablished6(u8, 24, sk.lport, 8, 80), sk);
    assert.equal(sk.addr6!.subarray(16), R6);
    assert.is(sk.laddr, 0);
  }
  assert.is(tables.lookupEstablished6(u8, 24, socks[0]!.lport, 8, 81), null, "another port");
  assert.is(tables.lookupEstablished6(packet(L6B, R6), 24, socks[0]!.lport, 8, 80), null);
  assert.is(tables.lookupEstablished(A, socks[0]!.lport, R, 80), null, "IPv4 never matches");
  tables.unhash(socks[0]!);
  assert.is(tables.lookupEstablished6(u8, 24, socks[0]!.lport, 8, 80), null);
  assert.is(tables.establishedCount, 299);
  assert.is(tables.connect6(sock(), ANY6, R6, 80), -EINVAL, "the source must be resolved");
  const bound = sock();
  tables.bind6(bound, L6B, 0, 5000);
  assert.is(tables.connect6(bound, L6, R6, 80), -EINVAL, "bound elsewhere");
  // A dual-stack :: socket may go out over IPv4 (an AF_INET6 socket to a v4-mapped peer).
  const dual = sock();
  tables.bind6(dual, ANY6, 0, 5001);
  assert.is(tables.connect(dual, A, R, 80), 0);
  assert.is(dual.addr6, null, "the entry became IPv4");
  assert.is(tables.lookupEstablished(A, 5001, R, 80), dual);
});

test("IPv6: active owners guard their address: a specific bind there needs SO_REUSEADDR, a bind elsewhere does not", () => {
  const { tables } = setup();
  const c = sock();
  tables.bind6(c, L6, 0, 7000);
  tables.connect6(c, L6, R6, 80);
  assert.is(tables.bind6(sock(), L6, 0, 7000), -EADDRINUSE);
  assert.is(tables.bind6(sock(), ANY6, 0, 7000), -EADDRINUSE);
  assert.is(tables.bind6(sock({ reuseAddr: true }), L6, 0, 7000), 0);
  assert.is(tables.bind6(sock(), L6B, 0, 7000), 0);
  assert.is(tables.bind(sock(), A, 7000), 0, "IPv4 addresses are not guarded by an IPv6 owner");
});

test("establishedHash6 is keyed and covers every address byte", () => {
  const h1 = new KeyedHash(new SeededRandom(1));
  const h2 = new KeyedHash(new SeededRandom(2));
  const base = establishedHash6(h1, L6, 0, 1, R6, 0, 2);
  assert.is.not(establishedHash6(h2, L6, 0, 1, R6, 0, 2), base);
  for (let i = 0; i < 16; i++) {
    const l = L6.slice();
    l[i]! ^= 1;
    assert.is.not(establishedHash6(h1, l, 0, 1, R6, 0, 2), base, `local byte ${i}`);
    const r = R6.slice();
    r[i]! ^= 0x80;
    assert.is.not(establishedHash6(h1, L6, 0, 1, r, 0, 2), base, `remote byte ${i}`);
  }
});
