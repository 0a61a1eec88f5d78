import { crc32 } from 'node:zlib';

/**
 * One gzip stream (RFC 1952) assembled from deflate parts compressed at different times: parts end on a byte
 * boundary (Z_SYNC_FLUSH), so they concatenate into one deflate stream (RFC 1951), closed by a final empty block;
 * the trailer's CRC-32 is combined from each part's own CRC and length, without reading the text again (zlib's
 * crc32_combine: https://github.com/madler/zlib/blob/develop/crc32.c). pigz builds its streams the same way.
 */

/** A piece of the uncompressed text with what the trailer needs of it. */
export interface Checksummed {
  /** CRC-32 of the text. */
  readonly crc: number;
  /** Length of the text in bytes. */
  readonly length: number;
  /** x^(8·length) modulo the CRC polynomial: shifts a preceding CRC past this text (see combineCrc). */
  readonly shift: number;
}

const POLYNOMIAL = 0xedb88320;
const TOP_BIT = 0x80000000;

/** a·b modulo the CRC polynomial, both reflected (zlib's multmodp). */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  for (let bit = TOP_BIT; bit !== 0; bit >>>= 1) {
    if (a & bit) product ^= b;
    b = b & 1 ? (b >>> 1) ^ POLYNOMIAL : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^n) modulo the polynomial, n = 0…31 (zlib's x2n_table). */
const POWERS = ((): number[] => {
  const table = [0x40000000];
  for (let n = 1; n < 32; n++) table.push(multiplyModP(table[n - 1]!, table[n - 1]!));
  return table;
})();

/** x^(8·bytes) modulo the polynomial (zlib's x2nmodp(bytes, 3)). */
export function crcShift(bytes: number): number {
  let power = TOP_BIT;
  for (let n = bytes, k = 3; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) power = multiplyModP(POWERS[k % 32]!, power);
  return power;
}

export function checksum(text: Uint8Array): Checksummed {
  return { crc: crc32(text), length: text.length, shift: crcShift(text.length) };
}

/** The CRC of a text followed by `next`, from the first text's CRC. */
export function combineCrc(crc: number, next: Checksummed): number {
  return (multiplyModP(next.shift, crc) ^ next.crc) >>> 0;
}

/** The checksum of several pieces in order, as one. */
export function concatChecksums(pieces: readonly Checksummed[]): Checksummed {
  let crc = 0;
  let length = 0;
  for (const piece of pieces) {
    crc = combineCrc(crc, piece);
    length += piece.length;
  }
  return { crc, length, shift: crcShift(length) };
}

/** Member header: deflate, no name, no mtime, unknown OS (RFC 1952 §2.3). */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

/** A final fixed-Huffman block holding only its end code: BFINAL=1, BTYPE=01, then seven zero bits. */
export const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

export function gzipTrailer({ crc, length }: { crc: number; length: number }): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length % 2 ** 32, 4);
  return trailer;
}

const STORED_MAX = 0xffff;

/**
 * Text as stored (uncompressed) deflate blocks: for the little that is rendered at scrape time, sending a few KiB more
 * costs less than starting a compressor. Each block: a header byte (BFINAL=0, BTYPE=00, padding), LEN and its
 * complement, then the bytes (RFC 1951 §3.2.4).
 */
export function storedBlocks(text: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let start = 0; start < text.length; start += STORED_MAX) {
    const piece = text.subarray(start, start + STORED_MAX);
    const header = Buffer.alloc(5);
    header.writeUInt16LE(piece.length, 1);
    header.writeUInt16LE(~piece.length & 0xffff, 3);
    parts.push(header, piece);
  }
  return parts;
}
