// The demo page's script: a netwasm stack in the page, joined to the relay
// with WebSocketLink (or, with ?local, to a second stack in the page over an
// impaired in-memory link), doing HTTP over its own TCP (stack.fetch, stack.listen).
// While it runs the page plots throughput, cwnd and RTT, and shows the
// stack's counters, its connection table and the last frames; the whole
// capture can be downloaded as a pcap.
// Served by the relay (`--static examples/`), which also serves /netwasm.js.

const $ = (id) => document.getElementById(id);
const params = new URL(location.href).searchParams;
const enc = new TextEncoder();
const dec = new TextDecoder();

function log(msg) {
  $("log").textContent += `${new Date().toISOString().slice(11, 23)} ${msg}\n`;
}
function status(msg) {
  $("status").textContent = msg;
  log(msg);
}
const mib = (n) => `${(n / 1048576).toFixed(2)} MiB`;

/** Bytes the page's transfer moved (read by get(), written by serve()): the throughput plot. */
let moved = 0;

/** Show progress of a transfer: bytes so far, of total (or null), since t0. */
function progress(done, total, t0) {
  const s = (performance.now() - t0) / 1000;
  $("progress").max = total ?? 1;
  $("progress").value = total ? done : 0;
  $("stats").textContent =
    `${mib(done)}${total ? ` of ${mib(total)}` : ""} in ${s.toFixed(2)} s, ` +
    `${(done * 8 / 1e6 / Math.max(s, 1e-3)).toFixed(1)} Mbit/s`;
}

// ---- plots -----------------------------------------------------------------

/** A time series drawn on a canvas: x is seconds since the page started, y auto-scaled. */
class Plot {
  constructor(canvas, color) {
    this.canvas = canvas;
    this.color = color;
    /** [seconds, value] pairs. */
    this.points = [];
  }

  add(t, v) {
    this.points.push([t, v]);
    if (this.points.length > 3000) this.points.splice(0, this.points.length - 3000);
    this.canvas.dataset.points = String(this.points.length);
  }

  draw() {
    const c = this.canvas;
    const dpr = globalThis.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr));
    const h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) [c.width, c.height] = [w, h];
    const g = c.getContext("2d");
    g.clearRect(0, 0, w, h);
    const pad = { l: 44 * dpr, r: 8 * dpr, t: 8 * dpr, b: 18 * dpr };
    const pts = this.points;
    const t0 = pts.length ? pts[0][0] : 0;
    const t1 = Math.max(t0 + 1, pts.length ? pts[pts.length - 1][0] : 1);
    const ymax = niceMax(Math.max(0, ...pts.map((p) => p[1])));
    const x = (t) => pad.l + (t - t0) / (t1 - t0) * (w - pad.l - pad.r);
    const y = (v) => h - pad.b - v / ymax * (h - pad.t - pad.b);
    g.font = `${11 * dpr}px system-ui, sans-serif`;
    g.fillStyle = "#666";
    g.strokeStyle = "#e5e5e5";
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = ymax * i / 4;
      g.beginPath();
      g.moveTo(pad.l, y(v));
      g.lineTo(w - pad.r, y(v));
      g.stroke();
      g.fillText(fmt(v), 2 * dpr, y(v) + 4 * dpr);
    }
    g.fillText(`${t0.toFixed(1)} s`, pad.l, h - 4 * dpr);
    const end = `${t1.toFixed(1)} s`;
    g.fillText(end, w - pad.r - g.measureText(end).width, h - 4 * dpr);
    if (pts.length === 0) return;
    g.strokeStyle = this.color;
    g.lineWidth = 1.5 * dpr;
    g.beginPath();
    pts.forEach(([t, v], i) => (i === 0 ? g.moveTo(x(t), y(v)) : g.lineTo(x(t), y(v))));
    g.stroke();
  }
}

/** A round number at or above `v` for the y axis. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}
const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

const plots = {
  throughput: new Plot($("plot-throughput"), "#1f6feb"),
  cwnd: new Plot($("plot-cwnd"), "#d1242f"),
  rtt: new Plot($("plot-rtt"), "#1a7f37"),
};

// ---- tables ----------------------------------------------------------------

/** Fill `table` with `rows` (arrays of cells); the first row is the header. */
function fillTable(table, rows, numeric = () => false) {
  const html = rows.map((r, i) => {
    if (r.length === 1) return `<tr class="section"><th colspan="9">${esc(r[0])}</th></tr>`;
    const tag = i === 0 ? "th" : "td";
    return `<tr>${
      r.map((c, j) => `<${tag}${numeric(j) && i > 0 ? ' class="n"' : ""}>${esc(c)}</${tag}>`)
        .join("")
    }</tr>`;
  });
  table.innerHTML = html.join("");
}
const esc = (s) =>
  String(s).replace(
    /[&<>"]/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch],
  );

function counterRows(st) {
  const drops = Object.entries(st.drops.snapshot());
  return [
    ["counter", "value"],
    ["TCP"],
    ["active / passive opens", `${st.tcp.activeOpens} / ${st.tcp.passiveOpens}`],
    ["established now", st.tcp.currEstab],
    ["segments in / out", `${st.tcp.inSegs} / ${st.tcp.outSegs}`],
    ["retransmitted", st.tcp.retransSegs],
    ["fast retransmits / timeouts", `${st.tcp.fastRetrans} / ${st.tcp.timeouts}`],
    ["out-of-order queued", st.tcp.ofoQueued],
    ["RSTs sent", st.tcp.outRsts],
    ["IPv4"],
    ["datagrams in / out", `${st.ip.inReceives} / ${st.ip.outRequests}`],
    ["delivered up", st.ip.inDelivers],
    ["UDP / ICMP"],
    ["UDP in / out", `${st.udp.inDatagrams} / ${st.udp.outDatagrams}`],
    ["ICMP in / out", `${st.icmp.inMsgs} / ${st.icmp.outMsgs}`],
    ["ARP"],
    ["requests out / in", `${st.arp.requestsSent} / ${st.arp.requestsReceived}`],
    ["replies out / in", `${st.arp.repliesSent} / ${st.arp.repliesReceived}`],
    ["Drops"],
    ...(drops.length ? drops : [["(none)", ""]]),
  ];
}

function socketRows(rows) {
  const ep = (a) => (a ? `${a.address}:${a.port || "*"}` : "*:*");
  return [
    ["proto", "state", "recv-q", "send-q", "local", "peer", "cwnd", "srtt", "rto", "retrans"],
    ...rows.map((r) => [
      r.protocol,
      r.state,
      r.recvQueue,
      r.sendQueue,
      ep(r.local),
      ep(r.remote),
      r.tcp ? r.tcp.cwnd : "",
      r.tcp ? `${r.tcp.srtt.toFixed(1)} ms` : "",
      r.tcp ? `${Math.round(r.tcp.rto)} ms` : "",
      r.tcp ? r.tcp.retransmits : "",
    ]),
  ];
}

// ---- frames: the packet list and the pcap ----------------------------------

/** The last frames seen on the watched device, newest last. */
const frames = [];
const FRAME_ROWS = 40;
/** The capture as pcap chunks (bounded: recording stops at PCAP_LIMIT bytes). */
const pcapChunks = [];
let pcapBytes = 0;
const PCAP_LIMIT = 64 << 20;

const ipAt = (u8, o) => `${u8[o]}.${u8[o + 1]}.${u8[o + 2]}.${u8[o + 3]}`;
const u16 = (u8, o) => (u8[o] << 8) | u8[o + 1];
const u32 = (u8, o) => ((u8[o] << 24) | (u8[o + 1] << 16) | (u8[o + 2] << 8) | u8[o + 3]) >>> 0;

/** One line for an Ethernet frame at `u8[o, o + len)`, tcpdump style. */
function summarize(u8, o, len) {
  if (len < 14) return `runt ${len} bytes`;
  const type = u16(u8, o + 12);
  if (type === 0x0806 && len >= 42) {
    const op = u16(u8, o + 20);
    const spa = ipAt(u8, o + 28);
    const tpa = ipAt(u8, o + 38);
    return op === 1
      ? `ARP who-has ${tpa} tell ${spa}`
      : `ARP reply ${spa} is-at ${mac(u8, o + 22)}`;
  }
  if (type !== 0x0800 || len < 34) return `ethertype 0x${type.toString(16).padStart(4, "0")}`;
  const ip = o + 14;
  const ihl = (u8[ip] & 15) * 4;
  const total = u16(u8, ip + 2);
  const proto = u8[ip + 9];
  const src = ipAt(u8, ip + 12);
  const dst = ipAt(u8, ip + 16);
  const frag = u16(u8, ip + 6) & 0x3fff;
  const l4 = ip + ihl;
  if (frag & 0x1fff) return `IP ${src} > ${dst} fragment offset ${(frag & 0x1fff) * 8}`;
  if (proto === 6 && len >= l4 - o + 20) {
    const flags = u8[l4 + 13];
    const names = [[2, "S"], [1, "F"], [4, "R"], [8, "P"], [16, "."]]
      .filter(([bit]) => flags & bit).map(([, n]) => n).join("");
    const payload = total - ihl - (u8[l4 + 12] >> 4) * 4;
    return `TCP ${src}:${u16(u8, l4)} > ${dst}:${u16(u8, l4 + 2)} [${names}] seq ${
      u32(u8, l4 + 4)
    }${flags & 16 ? ` ack ${u32(u8, l4 + 8)}` : ""} win ${u16(u8, l4 + 14)} len ${payload}`;
  }
  if (proto === 17 && len >= l4 - o + 8) {
    return `UDP ${src}:${u16(u8, l4)} > ${dst}:${u16(u8, l4 + 2)} len ${u16(u8, l4 + 4) - 8}`;
  }
  if (proto === 1) return `ICMP ${src} > ${dst} type ${u8[l4]} code ${u8[l4 + 1]}`;
  return `IP ${src} > ${dst} proto ${proto}`;
}
const mac = (u8, o) =>
  [...u8.subarray(o, o + 6)].map((b) => b.toString(16).padStart(2, "0")).join(":");

/** Watch `dev`: the packet list and the pcap recording. */
function watch(lib, dev, clock) {
  dev.addTap((dir, u8, offset, length, time) => {
    frames.push([time, dir, length, summarize(u8, offset, length)]);
    if (frames.length > FRAME_ROWS) frames.shift();
  });
  const writer = new lib.PcapWriter((chunk) => {
    pcapChunks.push(chunk);
    pcapBytes += chunk.length;
    if (pcapBytes > PCAP_LIMIT) {
      recording.stop();
      log(`pcap: stopped recording at ${mib(pcapBytes)}`);
    }
  }, { epochMs: performance.timeOrigin + performance.now() - clock.now() });
  const recording = lib.recordPcap(dev, writer);
  const button = $("pcap");
  button.disabled = false;
  button.onclick = () => {
    const url = URL.createObjectURL(new Blob(pcapChunks, { type: "application/vnd.tcpdump.pcap" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = "netwasm.pcap";
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
}

// ---- sampling --------------------------------------------------------------

/**
 * Every 100 ms: the throughput since the last sample, cwnd and srtt of the
 * busiest TCP connection of `stacks` (most bytes queued to send), and the
 * tables of the first stack.
 */
function startSampling(stacks) {
  const start = performance.now();
  let last = { t: start, moved: 0 };
  let ticks = 0;
  const sample = () => {
    const now = performance.now();
    const t = (now - start) / 1000;
    const dt = (now - last.t) / 1000;
    if (moved !== last.moved || plots.throughput.points.length > 0) {
      plots.throughput.add(t, ((moved - last.moved) * 8) / 1e6 / Math.max(dt, 1e-3));
    }
    last = { t: now, moved };
    const rows = stacks.flatMap((s) => s.sockets.list());
    const busiest = rows.filter((r) => r.tcp)
      .sort((a, b) => (b.sendQueue + b.tcp.inFlight) - (a.sendQueue + a.tcp.inFlight))[0];
    if (busiest) {
      plots.cwnd.add(t, busiest.tcp.cwnd / 1024);
      if (busiest.tcp.srtt > 0) plots.rtt.add(t, busiest.tcp.srtt);
    }
    for (const p of Object.values(plots)) p.draw();
    if (ticks++ % 3 === 0) {
      fillTable(
        $("sockets"),
        socketRows(rows),
        (j) => (j >= 2 && j <= 3) || j >= 6,
      );
      fillTable($("counters"), counterRows(stacks[0].stats), (j) => j === 1);
      fillTable(
        $("packets"),
        [
          ["time", "dir", "len", "summary"],
          ...frames.map(([tm, dir, len, s]) => [
            `${(tm / 1000).toFixed(3)}`,
            dir,
            len,
            s,
          ]),
        ],
        (j) => j === 2,
      );
    }
  };
  setInterval(sample, 100);
  // For tests and the console: the plots' data and the stacks.
  globalThis.netwasmDemo = { plots, stacks, sample };
}

// ---- HTTP over the page's TCP ----------------------------------------------

/** Write all of `bytes` to a Conn. */
async function writeAll(conn, bytes) {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** GET `url` with the page's own stack.fetch (HTTP/1.1 over netwasm's TCP): status, body, throughput. */
async function get(stack, url) {
  status(`fetching ${url}…`);
  const t0 = performance.now();
  const res = await stack.fetch(url);
  log(`response: ${res.status} ${res.statusText}${res.redirected ? ` (from ${res.url})` : ""}`);
  const cl = res.headers.get("content-length");
  const length = cl === null ? null : Number(cl);
  let body = 0;
  const first = [];
  // ?sha256: keep the body and show its SHA-256 at the end (tests compare it).
  const keep = params.has("sha256") ? [] : null;
  if (res.body !== null) {
    const reader = res.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      body += value.length;
      moved += value.length;
      keep?.push(value);
      if (first.length < 512) first.push(...value.subarray(0, 512 - first.length));
      progress(body, length, t0);
    }
  }
  progress(body, length ?? body, t0);
  $("bytes").textContent = preview(Uint8Array.from(first));
  let digest = "";
  if (keep !== null) {
    const hash = new Uint8Array(
      await crypto.subtle.digest("SHA-256", await new Blob(keep).arrayBuffer()),
    );
    digest = `, sha256 ${[...hash].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  status(
    `done: ${body} bytes of body${
      length !== null && body !== length ? ` (expected ${length})` : ""
    }${digest}`,
  );
}

/** The first bytes as text when printable, else as hex. */
function preview(bytes) {
  const text = dec.decode(bytes);
  if (/^[\t\n\r -~]*$/.test(text)) return text;
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Serve `size` bytes over HTTP on `port` to every connection (for the second tab). */
async function serve(stack, port, size, where) {
  const listener = stack.listen({ port });
  status(`listening on ${where} port ${port}, serving ${mib(size)}`);
  const block = new Uint8Array(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = 0x41 + (i % 26);
  for await (const conn of listener) {
    log(`accepted from ${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`);
    (async () => {
      const t0 = performance.now();
      const req = new Uint8Array(4096);
      await conn.read(req); // the request line; the reply is the same for any request
      await writeAll(
        conn,
        enc.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`),
      );
      for (let sent = 0; sent < size;) {
        const n = Math.min(block.length, size - sent);
        await writeAll(conn, block.subarray(0, n));
        sent += n;
        moved += n;
        progress(sent, size, t0);
      }
      await conn.closeWrite();
      conn.close();
      log("sent");
    })().catch((e) => log(`connection: ${e.message}`));
  }
}

/** ?local: a server stack and this page's stack on an impaired in-memory link. */
async function local(lib, size) {
  const clock = new lib.RealClock();
  const arena = new lib.Arena();
  const stack = new lib.Stack({ clock, arena });
  const server = new lib.Stack({ clock, arena });
  const [here, there] = lib.createPipe({
    allocator: stack.allocator,
    clock,
    seed: Number(params.get("seed") ?? 1),
    impair: { delay: 10, jitter: 2, loss: Number(params.get("loss") ?? 0.005), rate: 200e6 },
  });
  stack.addInterface(here, { address: "192.0.2.11/24" });
  server.addInterface(there, { address: "192.0.2.10/24" });
  log(`local: two stacks on a 20 ms RTT, 200 Mbit/s link with loss, engine ${stack.hotPaths.kind}`);
  watch(lib, here, clock);
  startSampling([stack, server]);
  void serve(server, 8080, size, "192.0.2.10 (in this page)");
  await get(stack, "http://192.0.2.10:8080/");
}

async function main() {
  if (location.protocol === "file:") return; // index.html explains
  let lib;
  try {
    lib = await import("/netwasm.js");
  } catch (e) {
    status(`error: cannot load /netwasm.js (${e.message}); serve this page with the relay`);
    return;
  }
  const size = Number(params.get("size") ?? 8 << 20);
  if (params.has("local")) {
    await local(lib, size);
    return;
  }
  const relay = params.get("relay") ??
    `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
  const address = params.get("ip") ?? "192.0.2.10/24";
  const stack = new lib.Stack();
  status(`joining the relay at ${relay}…`);
  const link = await lib.WebSocketLink.connect(relay, {
    allocator: stack.allocator,
    clock: stack.clock,
  });
  link.onLinkChange((e) => log(e.up ? "link up" : `link down (${e.code ?? "?"})`));
  if (params.has("dhcp")) {
    // With `netwasm relay --nat`: address, router and name server from the relay.
    const iface = stack.addInterface(link, { dhcp: { probes: 1 } });
    status("asking for a DHCP lease…");
    const lease = await stack.dhcp(iface).bound();
    log(
      `DHCP lease ${lease.address}/${lease.prefixLength} from ${lease.serverId}, ` +
        `router ${lease.routers[0] ?? "none"}, DNS ${lease.dnsServers.join(" ") || "none"}; ` +
        `engine ${stack.hotPaths.kind}`,
    );
  } else {
    const gateway = params.get("gw");
    stack.addInterface(link, { address, ...(gateway ? { gateway } : {}) });
    log(`interface ${address}${gateway ? ` via ${gateway}` : ""}, engine ${stack.hotPaths.kind}`);
  }
  watch(lib, link, stack.clock);
  startSampling([stack]);
  if (params.has("listen")) {
    await serve(stack, Number(params.get("listen")), size, address);
  } else if (params.has("connect")) {
    await get(stack, `http://${params.get("connect")}/`);
  } else if (params.has("get")) {
    await get(stack, params.get("get"));
  } else {
    status("up; add get=, listen=, connect= or local to the URL");
  }
}

main().catch((e) => status(`error: ${e.message}`));
