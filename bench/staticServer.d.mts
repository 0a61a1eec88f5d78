import type { Server } from 'node:http';

/** The static baseline's server (./staticServer.mjs): `serve` sets the bytes it sends. */
export function createStaticServer(): { server: Server; serve(text: Buffer, gzip: Buffer): void };
