/**
 * A pcap sink that writes to a file (Deno only; `pcap.ts` stays host-free).
 * Writes are synchronous so a capture is complete on disk the moment a test
 * asserts on it, and so a tap never has to await inside the receive path.
 *
 * @module
 */
import type { PcapSink } from "./pcap.ts";

/**
 * A file that takes pcap chunks: pass {@link PcapFileSink.write} as the sink
 * of `recordPcap` or `PcapWriter`, and `close()` when done.
 *
 * @example
 * ```ts
 * import { PcapWriter } from "./pcap.ts";
 * import { PcapFileSink } from "./pcap_file.ts";
 * const file = new PcapFileSink(await Deno.makeTempFile({ suffix: ".pcap" }));
 * const w = new PcapWriter(file.write);
 * w.writeFrame(new Uint8Array(60), 0, 60, 0);
 * file.close();
 * ```
 */
export class PcapFileSink {
  /** The file's path. */
  readonly path: string;
  #file: Deno.FsFile | null;

  /** Create (or truncate) `path`. */
  constructor(path: string) {
    this.path = path;
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
  }

  /** The sink: writes `chunk` completely. Throws if the file was closed. */
  readonly write: PcapSink = (chunk: Uint8Array): void => {
    const f = this.#file;
    if (f === null) throw new TypeError(`PcapFileSink ${this.path}: write after close`);
    // writeSync may write less than asked (e.g. a pipe or a full disk): loop.
    for (let at = 0; at < chunk.length;) at += f.writeSync(chunk.subarray(at));
  };

  /** True until {@link PcapFileSink.close}. */
  get isOpen(): boolean {
    return this.#file !== null;
  }

  /** Close the file; idempotent. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}
