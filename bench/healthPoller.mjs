/**
 * The bench's health poller, in a process of its own: GETs /-/healthy every 10 ms from `start` to `stop` and reports
 * the slowest answer. Polled from the measuring process, the answers also waited for that process (its garbage
 * collections with texts of up to 140 MiB, the scrape bodies it was receiving): a scratch client at 1000 tenants saw
 * answers of 146–160 ms a second after its own scrapes began, at moments when a timer inside the exporter was never
 * 40 ms late.
 */
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function healthy(url) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    request(`${url}/-/healthy`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

let polling;
process.on('message', async (message) => {
  if (message.start) {
    const run = { running: true, maxMs: 0, error: undefined };
    run.done = (async () => {
      while (run.running) {
        run.maxMs = Math.max(run.maxMs, await healthy(message.start));
        await sleep(10);
      }
    })().catch((error) => void (run.error = error.message));
    polling = run;
    process.send({ started: true });
  } else if (message.stop) {
    const run = polling;
    run.running = false;
    await run.done;
    process.send({ maxMs: run.maxMs, error: run.error });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
