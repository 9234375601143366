import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { requireInterop, tsharkCheck, withNetns } from "../_util/netns.ts";
import { netwasm, spawnNetwasm } from "./_cli.ts";
import { main } from "../../src/cli/main.ts";
import { readPcap } from "../../src/link/pcap.ts";

test("netwasm help / --help / -h: lists every command and the common flags, exit 0", async () => {
  for (const args of [["help"], ["--help"], ["-h"], ["ping", "--help"]]) {
    const r = await netwasm(args);
    assert.is(r.code, 0, args.join(" "));
    for (
      const word of [
        "ping HOST",
        "echo --udp PORT",
        "echo --tcp PORT",
        "http --port PORT --root DIR",
        "fetch URL",
        "demo",
        "--tap NAME",
        "--netns NS",
      ]
    ) {
      assert.ok(r.stdout.includes(word), `${args.join(" ")}: help mentions ${word}`);
    }
    for (const flag of ["--ip ADDR/PREFIX", "--gateway", "--mtu", "--pcap FILE", "--mac"]) {
      assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
    }
    assert.is(r.stderr, "");
  }
});

test("netwasm: usage errors exit 2 with a message that says what is wrong", async () => {
  const cases: [string[], RegExp][] = [
    [[], /no command given/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["ping", "--bogus", "192.0.2.1"], /Unknown option '--bogus'/],
    [["ping", "--tap", "tap0", "--ip", "192.0.2.2/24"], /ping: a destination HOST is required/],
    [["ping", "-c", "0", "192.0.2.1"], /-c "0": the count must be an integer in 1…65535/],
    [["ping", "-c", "many", "192.0.2.1"], /-c "many": the count must be an integer/],
    [
      ["ping", "-i", "0.01", "192.0.2.1"],
      /-i "0.01": the interval in seconds must be a number in 0.2…/,
    ],
    [["ping", "-s", "70000", "192.0.2.1"], /-s "70000": the size must be an integer in 0…65507/],
    [["ping", "-t", "256", "192.0.2.1"], /-t "256": the TTL must be an integer in 1…255/],
    [["ping", "example.com"], /example\.com: not an IPv4 or IPv6 address/],
    [
      ["ping", "--tap", "t0", "--ip6", "2001:db8::2", "::1"],
      /--ip6 "2001:db8::2" is not an IPv6 ADDR\/PREFIX/,
    ],
    [
      ["ping", "--tap", "t0", "--ip", "192.0.2.2/24", "--gateway6", "1.2.3.4", "::1"],
      /--gateway6 "1.2.3.4"/,
    ],
    [["ping", "--tap", "t0", "192.0.2.1"], /--ip ADDR\/PREFIX or --dhcp is required with --tap/],
    [
      ["ping", "--tap", "t0", "--dhcp", "--ip", "192.0.2.2/24", "192.0.2.1"],
      /--dhcp configures the IPv4 address and gateway/,
    ],
    [
      ["ping", "--tap", "t0", "--ip", "192.0.2.2", "192.0.2.1"],
      /--ip "192.0.2.2" is not ADDR\/PREFIX/,
    ],
    [["ping", "--tap", "t0", "--ip", "192.0.2.2/24", "--mac", "zz", "192.0.2.1"], /--mac "zz"/],
    [["ping", "--tap", "t0", "--ip", "192.0.2.2/24", "--mtu", "9", "192.0.2.1"], /--mtu "9"/],
    [["echo", "--tap", "t0", "--ip", "192.0.2.2/24"], /echo: --udp PORT and\/or --tcp PORT/],
    [["echo", "--tcp", "0"], /--tcp "0": the port must be an integer in 1…65535/],
    [["http", "--root", "."], /http: --port PORT is required/],
    [["http", "--port", "80"], /http: --root DIR is required/],
    [
      ["http", "--port", "80", "--root", ".", "--max-connections", "0"],
      /--max-connections "0": the connection limit must be an integer in 1…65535/,
    ],
    [
      ["http", "--port", "80", "--root", "/nonexistent-netwasm"],
      /http: --root "\/nonexistent-netwasm"/,
    ],
    [["http", "--port", "80", "--root", "deno.json"], /is not a directory/],
    [["fetch"], /fetch: a URL is required/],
    // An IPv6 literal is a valid URL now (TCP runs over IPv6): only the link is missing.
    [["fetch", "http://[2001:db8::1]/"], /--tap is required/],
    [["fetch", "https://192.0.2.1/"], /only http:\/\//],
    [
      ["fetch", "http://192.0.2.1/", "--timeout", "0"],
      /-W "0": the timeout in seconds must be a number in 0.1…3600/,
    ],
    [["fetch", "http://192.0.2.1/"], /--tap is required/],
    [["fetch", "-c", "1", "http://192.0.2.1/"], /-c\/--count is not a flag of "fetch"/],
    [["echo", "--udp", "70000"], /--udp "70000": the port must be an integer in 1…65535/],
    [["demo", "-c", "3"], /-c\/--count is not a flag of "demo"/],
    [["demo", "--pcap", "x.pcap", "--no-pcap"], /--pcap and --no-pcap contradict/],
    [["demo", "--seed=-1"], /--seed "-1": the seed must be an integer/],
    [
      ["echo", "--tcp", "7", "--tap", "t0", "--ip", "192.0.2.2/24", "--tcp-mem", "3M,2M,1M"],
      /--tcp-mem "3M,2M,1M": give LOW,PRESSURE,HIGH in bytes \(K\/M suffixes\), LOW ≤ PRESSURE ≤ HIGH/,
    ],
    [
      [
        "http",
        "--port",
        "80",
        "--root",
        ".",
        "--tap",
        "t0",
        "--ip",
        "192.0.2.2/24",
        "--tcp-mem",
        "8M,12M",
      ],
      /--tcp-mem "8M,12M": give LOW,PRESSURE,HIGH/,
    ],
    [
      [
        "fetch",
        "http://192.0.2.1/",
        "--tap",
        "t0",
        "--ip",
        "192.0.2.2/24",
        "--tcp-mem",
        "1G,2G,3G",
      ],
      /--tcp-mem "1G,2G,3G"/,
    ],
    [["ping", "--tcp-mem", "8M,12M,16M", "192.0.2.1"], /--tcp-mem is not a flag of "ping"/],
    [
      ["echo", "--tcp", "7", "--tap", "t0", "--ip", "192.0.2.2/24", "--arena-max", "512K"],
      /--arena-max "512K": give the arena's largest size in bytes \(K\/M\/G suffixes\), from 1M/,
    ],
    [
      ["echo", "--tcp", "7", "--tap", "t0", "--ip", "192.0.2.2/24", "--arena-max", "5G"],
      /--arena-max "5G"/,
    ],
    [
      ["echo", "--tcp", "7", "--tap", "t0", "--ip", "192.0.2.2/24", "--arena-max", "8MB"],
      /--arena-max "8MB"/,
    ],
    [["ping", "--arena-max", "8M", "192.0.2.1"], /--arena-max is not a flag of "ping"/],
  ];
  // In-process for speed; one subprocess below proves the exit status is the process's.
  for (const [args, re] of cases) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
    assert.is(code, 2, `${args.join(" ")} → 2`);
    assert.match(err.join("\n"), re, args.join(" "));
    assert.match(err.join("\n"), /Try 'deno task netwasm help'/);
    assert.equal(out, [], `${args.join(" ")}: nothing on stdout`);
  }
  const r = await netwasm(["ping", "-c", "0", "192.0.2.1"]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /the count must be an integer/);
});

test("netwasm ping without --tap says a link is needed, exit 2", async () => {
  const r = await netwasm(["ping", "-c", "1", "192.0.2.1"]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--tap is required: netwasm needs a link/);
  assert.match(r.stderr, /netwasm demo" needs none/);
  assert.is(r.stdout, "");
  const e = await netwasm(["echo", "--udp", "7"]);
  assert.is(e.code, 2);
  assert.match(e.stderr, /--tap is required: netwasm needs a link/);
});

test("netwasm ping: a TAP that cannot be opened is a failure (1) that says why", async () => {
  // No such TAP: ENODEV as root, EPERM/EACCES otherwise; either way exit 1 with the reason.
  const r = await netwasm([
    "ping",
    "-c",
    "1",
    "192.0.2.1",
    "--tap",
    `nwabsent${Deno.pid % 10000}`,
    "--ip",
    "192.0.2.2/24",
  ]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /netwasm ping: Cannot open TAP "nwabsent\d+": /);
});

test(
  "netwasm ping -c 3 through a TAP in a netns: the Linux kernel answers, exit 0, pcap written",
  async () => {
    await withNetns(async (ns) => {
      const dir = await Deno.makeTempDir({ prefix: "netwasm-cli-" });
      try {
        const pcap = `${dir}/ping.pcap`;
        const r = await netwasm([
          "ping",
          "-c",
          "3",
          "-i",
          "0.2",
          "-W",
          "2",
          ns.kernelIp,
          "--tap",
          ns.dev,
          "--netns",
          ns.name,
          "--ip",
          "192.0.2.2/24",
          "--pcap",
          pcap,
        ], { timeout: 20_000 });
        assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /^PING 192\.0\.2\.1 \(192\.0\.2\.1\) 56\(84\) bytes of data\.$/m);
        assert.match(r.stdout, /^64 bytes from 192\.0\.2\.1: icmp_seq=3 ttl=64 time=[\d.]+ ms$/m);
        assert.match(r.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
        assert.match(r.stdout, /^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/m);
        const cap = readPcap(await Deno.readFile(pcap));
        assert.ok(cap.ok, "pcap parses");
        // ARP both ways (at least the request and reply) plus 3 requests and 3 replies.
        assert.ok(cap.frames.length >= 8, `${cap.frames.length} frames`);
        // --create refuses a name that is taken rather than latching on to it.
        const taken = await netwasm([
          "ping",
          ns.kernelIp,
          "--create",
          "--tap",
          ns.dev,
          "--netns",
          ns.name,
          "--ip",
          "192.0.2.2/24",
        ]);
        assert.is(taken.code, 1, taken.stderr);
        assert.match(taken.stderr, new RegExp(`Cannot open TAP "${ns.dev}"`));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }, { openTap: false });
  },
  requireInterop("netwasm ping through a TAP"),
);

test(
  "netwasm ping: SIGINT stops the run, prints the summary and exits 0 after replies",
  async () => {
    await withNetns(async (ns) => {
      const p = spawnNetwasm([
        "ping",
        "-c",
        "100",
        "-i",
        "0.2",
        ns.kernelIp,
        "--tap",
        ns.dev,
        "--netns",
        ns.name,
        "--ip",
        "192.0.2.2/24",
      ], { timeout: 20_000 });
      await p.waitFor(/icmp_seq=2 /, 15_000);
      p.kill("SIGINT");
      const r = await p.result;
      assert.is(r.code, 0, r.stderr);
      assert.ok(!r.timedOut);
      assert.match(r.stdout, /--- 192\.0\.2\.1 ping statistics ---/);
      const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
      assert.ok(m !== null && Number(m[1]) < 100 && Number(m[2]) >= 2, r.stdout);
    }, { openTap: false });
  },
  requireInterop("netwasm ping SIGINT"),
);

test(
  "netwasm echo --udp 7 through a TAP: echoes the kernel's datagrams, logs them, exits 0 on SIGTERM",
  async () => {
    await withNetns(async (ns) => {
      const dir = await Deno.makeTempDir({ prefix: "netwasm-cli-" });
      try {
        const pcap = `${dir}/echo.pcap`;
        const server = spawnNetwasm([
          "echo",
          "--udp",
          "7",
          "--tap",
          ns.dev,
          "--netns",
          ns.name,
          "--ip",
          "192.0.2.2/24",
          "--pcap",
          pcap,
        ], { timeout: 20_000 });
        await server.waitFor(/listening on udp/);
        for (const text of ["hello netwasm\n", "x".repeat(3000)]) {
          const r = await ns.exec(
            // nc sends stdin as one datagram and exits once the link has been idle
            // for 2 s (socat would wait out its full -t after stdin's EOF).
            ["nc", "-u", "-w", "2", "192.0.2.2", "7"],
            { stdin: text, timeout: 10_000 },
          );
          assert.is(r.stdout, text, `echo of ${text.length} bytes: ${r.stderr}`);
        }
        server.kill("SIGTERM");
        const r = await server.result;
        assert.is(r.code, 0, r.stderr);
        assert.ok(!r.timedOut);
        assert.match(r.stdout, /^192\.0\.2\.1:\d+ {2}14 bytes$/m);
        assert.match(r.stdout, /^192\.0\.2\.1:\d+ {2}3000 bytes$/m);
        assert.match(r.stdout, /2 datagrams, 3014 bytes echoed/);
        const report = await tsharkCheck(pcap);
        assert.ok(report.frames >= 8, `${report.frames} frames`);
        assert.equal(report.findings, []);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }, { openTap: false });
  },
  requireInterop("netwasm echo through a TAP", { tools: ["nc", "tshark"] }),
);
