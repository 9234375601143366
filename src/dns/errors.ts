/**
 * Errors of name resolution, named like Deno's (`Deno.resolveDns` rejects
 * with `Deno.errors.NotFound` when a name or record does not exist). A query
 * nobody answered is the socket layer's `TimedOut`; an aborted one is
 * `Interrupted`.
 *
 * @module
 */

/**
 * The name does not exist (NXDOMAIN), or has no record of the type asked
 * for (NODATA), or a hosts/CNAME lookup ended nowhere.
 *
 * @example
 * ```ts
 * import { NotFound } from "./errors.ts";
 * const e = new NotFound("nx.test", "A", "nxdomain");
 * e.message; // "no A records for nx.test: the name does not exist (NXDOMAIN)"
 * ```
 */
export class NotFound extends Error {
  /** The name asked for (last one tried with search domains). */
  readonly query: string;
  /** The record type asked for (`"A"`, `"MX"`, …). */
  readonly recordType: string;
  /** Which negative answer it was. */
  readonly reason: "nxdomain" | "nodata";
  /** A negative answer for (`query`, `recordType`): NXDOMAIN or NODATA (RFC 2308). */
  constructor(query: string, recordType: string, reason: "nxdomain" | "nodata") {
    super(
      `no ${recordType} records for ${query}: ${
        reason === "nxdomain"
          ? "the name does not exist (NXDOMAIN)"
          : "the name has none of that type (NODATA)"
      }`,
    );
    this.query = query;
    this.recordType = recordType;
    this.reason = reason;
  }
  /** `"NotFound"`, like `Deno.errors.NotFound`. */
  override get name(): string {
    return "NotFound";
  }
}

/**
 * Resolution failed for another reason: every server answered SERVFAIL,
 * REFUSED or FORMERR, a CNAME chain looped or was too long, or no name
 * server is configured.
 *
 * @example
 * ```ts
 * import { DnsError } from "./errors.ts";
 * new DnsError("files.test", "every name server failed (SERVFAIL)", 2).rcode; // 2
 * ```
 */
export class DnsError extends Error {
  /** The name that could not be resolved. */
  readonly query: string;
  /** The last RCODE received, or -1 when the failure was not an RCODE. */
  readonly rcode: number;
  /** A failure to resolve `query`, `why` in words, `rcode` the last RCODE received (-1: none). */
  constructor(query: string, why: string, rcode = -1) {
    super(`cannot resolve ${query}: ${why}`);
    this.query = query;
    this.rcode = rcode;
  }
  /** `"DnsError"`. */
  override get name(): string {
    return "DnsError";
  }
}
