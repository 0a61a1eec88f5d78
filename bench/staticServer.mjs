/**
 * The bench's baseline: a plain node:http server sending the same bytes from a Buffer, as fast as node:http can, and
 * answering /-/healthy. Imported, it runs in the measuring process; run with `node`, in a process of its own, as the
 * exporter does (a request to another process pays for waking it: 1 ms after 20 ms of idleness on the bench machine,
 * most of a small probe's time), taking the gzip body to serve from its parent by IPC and inflating the text from it
 * when asked to (`withText`).
 */
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export function createStaticServer() {
  let current = { text: Buffer.alloc(0), gzip: Buffer.alloc(0) };
  const server = createServer((req, res) => {
    if (req.url === '/-/healthy') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Healthy\n');
      return;
    }
    const body = /gzip/.test(req.headers['accept-encoding'] ?? '') ? current.gzip : current.text;
    res.writeHead(200, {
      'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8',
      'Content-Length': body.length,
      ...(body === current.gzip && { 'Content-Encoding': 'gzip' }),
    });
    res.end(body);
  });
  // Connections kept as long as the exporter keeps them (src/server/listen.ts, IDLE_CONNECTION_MS): with Node.js's 5 s,
  // a request sent after the measuring process was busy longer than that (gzipping 1000 tenants' 140 MiB of text)
  // went out on a connection the server had closed meanwhile, and failed with ECONNRESET.
  server.keepAliveTimeout = 310_000;
  return { server, serve: (text, gzip) => void (current = { text, gzip }) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { server, serve } = createStaticServer();
  process.on('message', ({ gzip, withText }) => {
    const body = Buffer.from(gzip.buffer, gzip.byteOffset, gzip.byteLength);
    // Inflated only when a text serve follows: 140 MiB at 1000 tenants, whose garbage would otherwise be collected
    // during the gzip serve that is timed right after.
    serve(withText ? gunzipSync(body) : Buffer.alloc(0), body);
    process.send('served');
  });
  process.on('disconnect', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}
