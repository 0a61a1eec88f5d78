/**
 * The pieces one gzip stream is assembled from: CRC-32 combined from pieces equals the CRC of the whole text, stored
 * blocks carry any length, and sync-flushed deflate pieces (with the previous text as dictionary) inflate as one stream.
 */
import { constants, crc32, deflateRawSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FINAL_BLOCK, GZIP_HEADER, checksum, concatChecksums, gzipTrailer, storedBlocks } from '../../src/exposition/gzipStream.js';

/** Deterministic bytes of a given length (a linear congruential generator, so every run tests the same texts). */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    out[i] = state >>> 16;
  }
  return out;
}

describe('gzip stream assembly', () => {
  it('combines CRC-32 of pieces into the CRC-32 of their concatenation, empty pieces and large ones included', () => {
    const pieces = [0, 1, 7, 255, 256, 4_096, 65_535, 65_536, 100_003, 0, 3].map((length, i) => bytes(length, i + 1));
    const whole = Buffer.concat(pieces);
    expect(concatChecksums(pieces.map(checksum))).toMatchObject({ crc: crc32(whole), length: whole.length });
    expect(concatChecksums(pieces.map(checksum)).crc).not.toBe(crc32(Buffer.concat(pieces.slice(2))));
  });

  it('inflates stored blocks, sync-flushed pieces and chained dictionaries as one stream with the right trailer', () => {
    // Two tenants' lines of one family: the same message ids and titles, another tenant label.
    const ids = bytes(300, 5).toString('hex');
    const text = (tenant: string) => Buffer.from(Array.from({ length: 150 }, (_, i) => `m365_message_info{tenant="${tenant}",id="MC${ids.slice(4 * i, 4 * i + 4)}",title="${bytes(12, i).toString('base64')}"} 1\n`).join(''));
    const global = bytes(150_000, 9); // more than two stored blocks
    const first = text('contoso');
    const second = text('fabrikam');
    const parts = [
      ...storedBlocks(global),
      deflateRawSync(first, { finishFlush: constants.Z_SYNC_FLUSH }),
      deflateRawSync(second, { finishFlush: constants.Z_SYNC_FLUSH, dictionary: first.subarray(-32_768) }),
    ];
    const stream = Buffer.concat([GZIP_HEADER, ...parts, FINAL_BLOCK, gzipTrailer(concatChecksums([global, first, second].map(checksum)))]);
    expect(gunzipSync(stream).equals(Buffer.concat([global, first, second]))).toBe(true);
    // The dictionary is what makes the second piece small: the same text compressed alone is larger.
    expect(parts.at(-1)!.length * 3).toBeLessThan(deflateRawSync(second, { finishFlush: constants.Z_SYNC_FLUSH }).length);
    // A wrong checksum is refused, as Prometheus' Go reader refuses it.
    const corrupt = Buffer.from(stream);
    corrupt.writeUInt32LE((corrupt.readUInt32LE(corrupt.length - 8) ^ 1) >>> 0, corrupt.length - 8);
    expect(() => gunzipSync(corrupt)).toThrow();
  });
});
