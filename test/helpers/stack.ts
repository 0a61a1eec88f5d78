/**
 * The one way tests and benchmarks start the stack: the simulated tenant (simulator/), optionally an OTLP receiver
 * (./otlpReceiver.ts), and the built exporter as a child process (./exporterProcess.ts) configured against them;
 * ready once the exporter's /-/ready answers 200. `stop()` stops the exporter first (it pushes a last OTLP export and
 * talks to the simulator until it exits), then the receiver, then the simulator.
 */
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js';
import { startExporter, type ExporterClient, type ExporterProcess } from './exporterProcess.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlpReceiver.js';
import { waitFor } from './wait.js';

type Receiver<WithOtlp extends boolean> = WithOtlp extends true ? OtlpReceiver : undefined;

export interface StackOptions<WithOtlp extends boolean> {
  simulator: SimulatorOptions;
  /** Scripts the simulated tenants before the exporter starts, so its first refresh already sees that state. */
  prepare?: (sim: Simulator) => void | Promise<void>;
  /** Start an OTLP receiver before the exporter, for its `otlp.endpoint`. @default false */
  otlp?: WithOtlp;
  /** The exporter's config.yml, made from the running simulator (and receiver). */
  config: (parts: { sim: Simulator; otlp: Receiver<WithOtlp> }) => Record<string, unknown>;
  /** Extra exporter flags (`--config.file`, `--web.listen-address 127.0.0.1:0` and `--log.format json` are always given). */
  args?: string[];
  /** Environment variables of the exporter process (HTTPS_PROXY, OTEL_*, …), or made from the running simulator (and receiver). */
  env?: Record<string, string> | ((parts: { sim: Simulator; otlp: Receiver<WithOtlp> }) => Record<string, string>);
  /** More CA certificates (PEM) the exporter trusts besides the simulator's: a test's own HTTPS server. */
  trust?: string;
  /** TLS trust, client certificate and basic auth for reaching an exporter run with `--web.config.file`. */
  client?: ExporterClient;
  /** How long the exporter may take to answer /-/ready with 200. @default 30_000 */
  readyTimeoutMs?: number;
}

export interface Stack<WithOtlp extends boolean = false> {
  sim: Simulator;
  exporter: ExporterProcess;
  /** The receiver, when started with `otlp: true`; `restartOtlp()` replaces it. */
  readonly otlp: Receiver<WithOtlp>;
  /** From the exporter's spawn until /-/ready answered 200. */
  readyMs: number;
  /**
   * Stops the exporter (SIGTERM, as a restart does) and starts it again against the same simulator, with `config` or
   * the first one; waits for /-/ready. `exporter` is then the new process.
   */
  restartExporter(config?: Record<string, unknown>): Promise<ExporterProcess>;
  /** Stops the receiver (if still running) and starts a new one on the same port; `stop()` stops that one. */
  restartOtlp(): Promise<OtlpReceiver>;
  /** Stops everything that was started, in order; safe to call more than once. */
  stop(): Promise<void>;
}

export async function startStack<WithOtlp extends boolean = false>(options: StackOptions<WithOtlp>): Promise<Stack<WithOtlp>> {
  const started: { sim?: Simulator; otlp?: OtlpReceiver; exporter?: ExporterProcess } = {};
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    await started.exporter?.stop();
    await started.otlp?.stop();
    await started.sim?.stop();
  })());

  try {
    const sim = (started.sim = await startSimulator(options.simulator));
    await options.prepare?.(sim);
    if (options.otlp) started.otlp = await startOtlpReceiver();
    const exporterStart = Date.now();
    const parts = { sim, otlp: started.otlp as Receiver<WithOtlp> };
    const env = typeof options.env === 'function' ? options.env(parts) : options.env;
    const launch = async (config: Record<string, unknown>) => {
      const exporter = (started.exporter = await startExporter(config, `${sim.caCertPem}\n${options.trust ?? ''}`, options.args, env, options.client));
      await waitFor('the exporter to answer /-/ready with 200', async () => (await exporter.fetch('/-/ready')).ok, options.readyTimeoutMs ?? 30_000, 100);
      return exporter;
    };
    await launch(options.config(parts));
    return {
      sim,
      get exporter() {
        return started.exporter!;
      },
      async restartExporter(config) {
        await started.exporter!.stop();
        return launch(config ?? options.config(parts));
      },
      get otlp() {
        return started.otlp as Receiver<WithOtlp>;
      },
      readyMs: Date.now() - exporterStart,
      async restartOtlp() {
        if (!started.otlp) throw new Error('restartOtlp: the stack was started without otlp: true');
        await started.otlp.stop();
        started.otlp = await startOtlpReceiver(started.otlp.port);
        return started.otlp;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
