/**
 * Batch framing for the WebSocket tunnel: many Ethernet frames in one
 * binary message, negotiated with the WebSocket subprotocol
 * {@link BATCH_PROTOCOL}.
 *
 * A WebSocket message costs far more than the bytes in it — an event, an
 * `ArrayBuffer`, a send op in the relay and in each client — so at one frame
 * per message the tunnel tops out at the message rate. A batch message
 * carries frames back to back, each preceded by its length:
 *
 * ```text
 * message = record+            (at most BATCH_MAX_BYTES in all)
 * record  = length:u16 (big-endian, 14 … 65535)  frame:length bytes
 * ```
 *
 * Frames are whole Ethernet II frames as in the default framing (no FCS);
 * the order of frames is the order of records. A record whose length is
 * under 14 or runs past the end of the message is malformed: it and the
 * rest of the message are dropped and counted.
 *
 * The default stays one frame per message (the framing of v86's relays,
 * `websockproxy` and `wsnic`); a client asks for batches by offering the
 * subprotocol and uses them only when the server selected it. netwasm's
 * relay selects it for clients that offer it and keeps one frame per
 * message for the rest, so both kinds share one switch.
 *
 * {@link ArenaBatch} builds a batch in an arena slot with `copyWithin`,
 * so appending a frame allocates nothing.
 *
 * @module
 */
import type { Arena } from "../skb/arena.ts";

/** The subprotocol that selects batch framing. */
export const BATCH_PROTOCOL = "netwasm.batch.v1";
/** Largest batch message, bytes. */
export const BATCH_MAX_BYTES = 65536;
/** Bytes in front of each frame: its length, big-endian. */
export const BATCH_RECORD_HEADER = 2;

/**
 * A batch under construction in an arena slot of {@link BATCH_MAX_BYTES}.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { ArenaBatch } from "./ws_batch.ts";
 * const arena = new Arena();
 * const batch = new ArenaBatch(arena);
 * const frame = arena.tryAllocSlot(60); // a frame somewhere in the arena
 * if (batch.fits(60) && batch.append(frame, 60)) {
 *   const msg = arena.u8.subarray(batch.offset, batch.offset + batch.length);
 *   // socket.send(msg); then
 *   batch.clear();
 * }
 * batch.release();
 * ```
 */
export class ArenaBatch {
  /** Start of the slot (-1 while none is held). */
  offset: number = -1;
  /** Bytes in the batch. */
  length = 0;

  /** A batch builder over `arena` (the slot is taken on the first append). */
  constructor(readonly arena: Arena) {}

  /** Frames in the batch so far. */
  frames = 0;

  /** Whether a frame of `len` bytes still fits. */
  fits(len: number): boolean {
    return this.length + BATCH_RECORD_HEADER + len <= BATCH_MAX_BYTES;
  }

  /**
   * Append the frame at arena offset `from` (`len` bytes). False when the
   * arena has no slot for the batch or the frame does not fit (flush first).
   */
  append(from: number, len: number): boolean {
    if (len > 0xffff || !this.fits(len)) return false;
    if (this.offset < 0) {
      this.offset = this.arena.tryAllocSlot(BATCH_MAX_BYTES);
      if (this.offset < 0) return false;
    }
    const u8 = this.arena.u8; // after the allocation, which may have grown the memory
    const at = this.offset + this.length;
    u8[at] = len >>> 8;
    u8[at + 1] = len & 0xff;
    u8.copyWithin(at + BATCH_RECORD_HEADER, from, from + len);
    this.length += BATCH_RECORD_HEADER + len;
    this.frames++;
    return true;
  }

  /** Empty the batch, keeping the slot for the next one. */
  clear(): void {
    this.length = 0;
    this.frames = 0;
  }

  /** Empty the batch and give the slot back. */
  release(): void {
    if (this.offset >= 0) this.arena.releaseSlotAt(this.offset);
    this.offset = -1;
    this.clear();
  }
}
