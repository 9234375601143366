/**
 * `netwasm relay` on the command line: usage errors exit 2 with a reason,
 * `--help` lists the flags, and a running relay stops cleanly on its signal
 * with a final summary.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { main } from "../../src/cli/main.ts";
import { relayMain } from "../../src/cli/relay.ts";
import { rawRequest, within } from "./_helpers.ts";

function collector() {
  const out: string[] = [];
  const err: string[] = [];
  let onOut: (() => void) | null = null;
  return {
    out,
    err,
    io: {
      out: (l: string) => {
        out.push(l);
        onOut?.();
      },
      err: (l: string) => void err.push(l),
    },
    waitOut(re: RegExp): Promise<string> {
      return within(
        new Promise<string>((resolve) => {
          const check = () => {
            const line = out.find((l) => re.test(l));
            if (line !== undefined) resolve(line);
          };
          onOut = check;
          check();
        }),
        5000,
        `output ${re}`,
      );
    },
  };
}

test("netwasm relay: usage errors exit 2 with the reason; --help lists the flags", async () => {
  const cases: [string[], string][] = [
    [[], "--listen HOST:PORT is required"],
    [["--listen", "nowhere"], "is not HOST:PORT"],
    [["--listen", "127.0.0.1:8080", "--rate", "fast"], "--rate"],
    [["--listen", "127.0.0.1:8080", "--pcap-max-bytes", "10"], "--pcap-max-bytes"],
    [["--listen", "127.0.0.1:8080", "--create"], "need --tap"],
    [["--listen", "127.0.0.1:8080", "--static", "/nonexistent-dir"], "--static"],
    [["--listen", "127.0.0.1:8080", "--bogus"], "bogus"],
  ];
  for (const [args, why] of cases) {
    const c = collector();
    assert.is(await relayMain(args, c.io), 2, args.join(" "));
    assert.ok(c.err.join("\n").includes(why), `${args.join(" ")}: ${c.err.join("\n")}`);
  }
  const c = collector();
  assert.is(await main(["relay", "--help"], { ...c.io }), 0);
  for (
    const flag of [
      "--listen",
      "--tap",
      "--static",
      "--max-clients",
      "--rate",
      "--origin",
      "--token",
      "--pcap",
      "--pcap-max-bytes",
    ]
  ) {
    assert.ok(c.out.join("\n").includes(flag), flag);
  }
});

test("netwasm relay: serves, refuses a bad origin (repeatable --origin), and stops cleanly on its signal", async () => {
  const c = collector();
  const stop = new AbortController();
  const running = relayMain(
    [
      "--listen",
      "127.0.0.1:0",
      "--origin",
      "http://a.example",
      "--origin",
      "http://b.example",
    ],
    c.io,
    stop.signal,
  );
  const line = await c.waitOut(/listening on ws:\/\/127\.0\.0\.1:\d+\//);
  const port = Number(/:(\d+)\//.exec(line)![1]);
  const up = (origin: string) =>
    rawRequest(port, "/", { upgrade: true, headers: { Origin: origin } });
  assert.is((await up("http://evil.example")).status, 403);
  assert.is((await up("http://b.example")).status, 101);
  stop.abort();
  assert.is(await within(running, 5000, "relay exit"), 0);
  assert.ok(c.out.some((l) => l.includes("refused origin 1")), c.out.join("\n"));
});
