/**
 * A minimal Chrome DevTools Protocol driver for throughput tests: launches
 * Debian's Chromium (the flags of {@link CHROMIUM_ARGS}) with a fresh
 * profile and drives pages with `Page.navigate` and `Runtime.evaluate` only.
 *
 * Why not playwright here: playwright enables the `Network` domain on every
 * page, and Chromium then reports every WebSocket frame to the driver
 * (`Network.webSocketFrameReceived`/`Sent`, binary payloads base64-encoded
 * into the DevTools pipe, decoded again on the Deno side). Measured on the
 * 2-core CI machine: a Deno WebSocket server sending 64 KiB messages to a
 * page that only counts them reached 300–360 Mbit/s under playwright and
 * 0.9–1.8 Gbit/s under this driver. A user's page has no debugger attached,
 * so a page whose traffic is WebSocket messages is measured here.
 *
 * @module
 */
import { CHROMIUM, CHROMIUM_ARGS } from "./run.ts";

/** A page driven over CDP. */
export interface CdpPage {
  /** Evaluate `fn(arg)` in the page (awaiting a promise) and return the JSON value. */
  evaluate<T>(fn: (arg: never) => unknown, arg?: unknown): Promise<T>;
  /** Poll `fn()` in the page every 50 ms until it is truthy; reject after `timeoutMs`. */
  waitForFunction(fn: () => unknown, timeoutMs: number): Promise<void>;
  /** Uncaught exceptions the page reported so far (text with stack). */
  readonly errors: string[];
}

/** A Chromium process driven over CDP; {@link CdpBrowser.close} ends it. */
export interface CdpBrowser {
  /** Open a new tab at `url`; resolves once the document has loaded. */
  newPage(url: string): Promise<CdpPage>;
  /** Close the browser and wait for the process to exit. */
  close(): Promise<void>;
}

type Message = {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  sessionId?: string;
  result?: Record<string, unknown>;
  error?: { message: string };
};

/**
 * Launch Chromium headless with a fresh profile in `profileDir`, with the
 * DevTools endpoint on a loopback port of its choosing.
 *
 * @example
 * ```ts ignore
 * import { launchCdp } from "./cdp.ts";
 * const b = await launchCdp(await Deno.makeTempDir());
 * const page = await b.newPage("http://127.0.0.1:8080/");
 * console.log(await page.evaluate((x: number) => x + 1, 41)); // 42
 * await b.close();
 * ```
 */
export async function launchCdp(profileDir: string): Promise<CdpBrowser> {
  const proc = new Deno.Command(CHROMIUM, {
    args: [
      ...CHROMIUM_ARGS,
      `--user-data-dir=${profileDir}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let ws: WebSocket | undefined;
  try {
    let port = "";
    const deadline = Date.now() + 15_000;
    while (port === "") {
      try {
        port = (await Deno.readTextFile(`${profileDir}/DevToolsActivePort`)).split("\n")[0]!;
      } catch {
        if (Date.now() > deadline) throw new Error("Chromium wrote no DevToolsActivePort in 15 s");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const version = await (await fetch(`http://127.0.0.1:${port}/json/version`)).json();
    ws = new WebSocket(version.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws!.onopen = resolve;
      ws!.onerror = () => reject(new Error("cannot reach Chromium's DevTools endpoint"));
    });
  } catch (e) {
    proc.kill();
    await proc.status;
    throw e;
  }
  const socket = ws;
  let nextId = 0;
  const waiting = new Map<number, { resolve: (m: Message) => void }>();
  const listeners = new Map<string, (m: Message) => void>();
  socket.onmessage = (e) => {
    const m = JSON.parse(e.data as string) as Message;
    if (m.id !== undefined) {
      waiting.get(m.id)?.resolve(m);
      waiting.delete(m.id);
    } else if (m.sessionId !== undefined) {
      listeners.get(m.sessionId)?.(m);
    }
  };
  socket.onclose = () => {
    for (const w of waiting.values()) {
      w.resolve({ error: { message: "DevTools connection closed" } });
    }
    waiting.clear();
  };
  const send = (
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (socket.readyState !== WebSocket.OPEN) {
        reject(new Error(`${method}: DevTools connection closed`));
        return;
      }
      const id = ++nextId;
      waiting.set(id, {
        resolve: (m) =>
          m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result ?? {}),
      });
      socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  return {
    async newPage(url) {
      const { targetId } = await send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true }) as {
        sessionId: string;
      };
      const errors: string[] = [];
      listeners.set(sessionId, (m) => {
        if (m.method === "Runtime.exceptionThrown") {
          const d = (m.params as {
            exceptionDetails: { text: string; exception?: { description?: string } };
          })
            .exceptionDetails;
          errors.push(d.exception?.description ?? d.text);
        }
      });
      await send("Runtime.enable", {}, sessionId);
      const evalRaw = async (expression: string): Promise<unknown> => {
        const r = await send("Runtime.evaluate", {
          expression,
          awaitPromise: true,
          returnByValue: true,
        }, sessionId) as {
          result: { value?: unknown };
          exceptionDetails?: { text: string; exception?: { description?: string } };
        };
        if (r.exceptionDetails !== undefined) {
          const d = r.exceptionDetails;
          throw new Error(`page: ${d.exception?.description ?? d.text}`);
        }
        return r.result.value;
      };
      await send("Page.enable", {}, sessionId);
      await send("Page.navigate", { url }, sessionId);
      const deadline = Date.now() + 15_000;
      for (;;) {
        const state = await evalRaw("location.href + ' ' + document.readyState").catch(() => "");
        if (state === `${url} complete`) break;
        if (Date.now() > deadline) throw new Error(`${url} did not load in 15 s (${state})`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const page: CdpPage = {
        errors,
        evaluate: <T>(fn: (arg: never) => unknown, arg?: unknown) =>
          evalRaw(`(${fn.toString()})(${arg === undefined ? "" : JSON.stringify(arg)})`) as Promise<
            T
          >,
        async waitForFunction(fn, timeoutMs) {
          const end = Date.now() + timeoutMs;
          while (!(await evalRaw(`Boolean((${fn.toString()})())`))) {
            if (Date.now() > end) {
              throw new Error(`waitForFunction: not true within ${timeoutMs} ms: ${fn.toString()}`);
            }
            await new Promise((r) => setTimeout(r, 50));
          }
        },
      };
      return page;
    },
    async close() {
      await send("Browser.close").catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = await Promise.race([
        proc.status.then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), 5000)),
      ]);
      clearTimeout(timer);
      if (!exited) {
        proc.kill();
        await proc.status;
      }
      if (socket.readyState === WebSocket.OPEN) socket.close();
    },
  };
}
