/**
 * No Docker engine runs here, so docker-compose.yml, the Dockerfile and deploy/ are validated statically: every
 * referenced file exists, services reference each other by the names and ports they really use, and the
 * Prometheus config passes `promtool check config` in the file layout the compose mounts create.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { imageNodeMajor } from '../helpers/imageEnv.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Service {
  build?: { context: string; target?: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: string[] | Record<string, unknown>;
  ports?: string[];
}
const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;

/** `host:container[:ro]` → parts; host is a ./path (bind) or a named volume. */
const mounts = (service: Service) => (service.volumes ?? []).map((v) => {
  const [host, container] = v.split(':') as [string, string];
  return { host, container, bind: host.startsWith('.') };
});
/** Container path → host path, for a service's bind mounts (longest prefix wins). */
function hostPathOf(service: Service, containerPath: string): string | undefined {
  const match = mounts(service).filter((m) => m.bind && (containerPath === m.container || containerPath.startsWith(`${m.container}/`)))
    .sort((a, b) => b.container.length - a.container.length)[0];
  return match ? join(ROOT, match.host, containerPath.slice(match.container.length)) : undefined;
}
function flag(service: Service, name: string): string | undefined {
  const index = service.command?.indexOf(name) ?? -1;
  return index < 0 ? undefined : service.command![index + 1];
}

describe('docker-compose.yml', () => {
  it('has the exporter, simulator, Prometheus, Alertmanager and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['alertmanager', 'exporter', 'grafana', 'prometheus', 'simulator']);
  });

  it('references only files that exist, declared volumes and defined services', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const mount of mounts(service)) {
        if (mount.bind) expect(existsSync(join(ROOT, mount.host)), `${name}: ${mount.host}`).toBe(true);
        else expect(Object.keys(compose.volumes ?? {}), `${name}: volume ${mount.host}`).toContain(mount.host);
      }
      const dependencies = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dependency of dependencies) expect(Object.keys(services), `${name} depends on ${dependency}`).toContain(dependency);
      expect(Boolean(service.build) !== Boolean(service.image), `${name}: build or image`).toBe(true);
    }
  });

  it('builds exporter and simulator from stages of the Dockerfile', () => {
    const stages = [...read('Dockerfile').matchAll(/^FROM \S+ AS (\S+)/gm)].map((m) => m[1]);
    expect(services.exporter!.build).toEqual({ context: '.', target: 'runtime' });
    expect(services.simulator!.build).toEqual({ context: '.', target: 'simulator' });
    expect(stages).toContain('runtime');
    expect(stages).toContain('simulator');
  });

  it('runs the simulator with flags its CLI knows, and the exporter trusts the CA the simulator writes', () => {
    const cli = read('simulator/cli.ts');
    for (const arg of services.simulator!.command!.filter((a) => a.startsWith('--'))) expect(cli, arg).toMatch(new RegExp(`^\\s+'?${arg.slice(2)}'?: \\{ type:`, 'm'));
    const caOut = flag(services.simulator!, '--ca-out')!;
    const shared = mounts(services.simulator!).find((m) => caOut.startsWith(`${m.container}/`))!;
    expect(shared.bind).toBe(false);
    const exporterMount = mounts(services.exporter!).find((m) => m.host === shared.host)!;
    expect(services.exporter!.environment!.NODE_EXTRA_CA_CERTS).toBe(caOut.replace(shared.container, exporterMount.container));
    expect(services.exporter!.depends_on).toMatchObject({ simulator: { condition: 'service_healthy' } });
  });

  it('points the exporter at the simulator with the ids and port the simulator uses, and the config is valid', () => {
    const configPath = hostPathOf(services.exporter!, '/etc/m365-health-exporter/config.yml')!;
    const config = parse(readFileSync(configPath, 'utf8')) as { listen: string; tenants: Array<{ tenantId: string; clientId: string; clientSecret: string; authorityHost: string; graphEndpoint: string }> };
    const simulatorUrl = `https://simulator:${flag(services.simulator!, '--port')}`;
    expect(config.tenants[0]).toMatchObject({ authorityHost: simulatorUrl, graphEndpoint: simulatorUrl, clientSecret: 'simulator-secret' });
    // cli.ts derives ids as `${prefix}-0000-4000-8000-${index padded to 12}`.
    expect(config.tenants[0]!.tenantId).toBe('5e1f0000-0000-4000-8000-000000000001');
    expect(config.tenants[0]!.clientId).toBe('c11e0000-0000-4000-8000-000000000001');
    expect(read('simulator/cli.ts')).toContain("DEMO_CLIENT_SECRET = 'simulator-secret'");
    expect(services.exporter!.ports).toContain(`${config.listen.slice(1)}:${config.listen.slice(1)}`);
    execFileSync(process.execPath, [join(ROOT, 'dist/cli.js'), '--config', configPath, '--check-config'], { stdio: 'pipe' });
  });

  it('has Prometheus scrape the exporter, load the rule file and send to Alertmanager, and passes promtool check config', () => {
    const prometheus = services.prometheus!;
    const configFile = flag(prometheus, '--config.file') ?? prometheus.command!.find((a) => a.startsWith('--config.file='))!.split('=')[1]!;
    const config = parse(readFileSync(hostPathOf(prometheus, configFile)!, 'utf8')) as {
      rule_files: string[]; alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const exporterJob = config.scrape_configs.find((s) => s.job_name === 'm365-health-exporter')!;
    expect(exporterJob.static_configs[0]!.targets).toEqual(['exporter:9877']);
    expect(config.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(['alertmanager:9093']);
    for (const rules of config.rule_files) {
      expect(hostPathOf(prometheus, join(dirname(configFile), rules))).toBe(join(ROOT, 'alerts/m365-rules.yml'));
    }
    // Rebuild the container's view of /etc/prometheus from the bind mounts and let promtool resolve the rule files.
    const fakeRoot = mkdtempSync(join(tmpdir(), 'm365-compose-'));
    for (const mount of mounts(prometheus).filter((m) => m.bind)) {
      mkdirSync(dirname(join(fakeRoot, mount.container)), { recursive: true });
      cpSync(join(ROOT, mount.host), join(fakeRoot, mount.container), { recursive: true });
    }
    const output = execFileSync('promtool', ['check', 'config', join(fakeRoot, configFile)], { encoding: 'utf8', stdio: 'pipe' });
    expect(output).toContain('SUCCESS');
  });

  it('runs Alertmanager with alerts/alertmanager.yml', () => {
    expect(hostPathOf(services.alertmanager!, '/etc/alertmanager/alertmanager.yml')).toBe(join(ROOT, 'alerts/alertmanager.yml'));
  });

  it('provisions Grafana with the Prometheus datasource and the generated dashboards', () => {
    const grafana = services.grafana!;
    const datasources = parse(readFileSync(hostPathOf(grafana, '/etc/grafana/provisioning/datasources/prometheus.yml')!, 'utf8')) as { datasources: Array<{ type: string; url: string }> };
    expect(datasources.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const providers = parse(readFileSync(hostPathOf(grafana, '/etc/grafana/provisioning/dashboards/m365.yml')!, 'utf8')) as { providers: Array<{ options: { path: string } }> };
    expect(hostPathOf(grafana, providers.providers[0]!.options.path)).toBe(join(ROOT, 'dashboards'));
    expect(existsSync(hostPathOf(grafana, grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!)!)).toBe(true);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^(?=FROM )/m).filter((s) => s.startsWith('FROM'));

  it('is multi-stage on Node.js 24 LTS: npm ci and build on node:24-slim, prune dev dependencies, run on distroless', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage).toMatch(/^FROM (node:24-slim|gcr\.io\/distroless\/nodejs24-debian13:nonroot|debian:13-slim|build) AS /);
    expect(stages.at(-1)).toMatch(/^FROM gcr\.io\/distroless\/nodejs24-debian13:nonroot AS runtime$/m);
    expect(dockerfile).toMatch(/RUN npm ci/);
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toMatch(/RUN npm prune --omit=dev/);
  });

  it('builds and runs on a Node.js major that package.json supports and CI tests', () => {
    const majors = new Set([...dockerfile.matchAll(/^FROM (?:node:|gcr\.io\/distroless\/nodejs)(\d+)/gm)].map((m) => m[1]));
    expect([...majors]).toEqual(['24']);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines.split('||').map((range) => range.trim().match(/^\^(\d+)\./)?.[1])).toContain('24');
    expect(read('.ci/run')).toMatch(/npm pack --silent "node-linux-\$\(node -p process\.arch\)@24"/);
    // The bench tells a run on another major apart by this; README tells to bench on the binary .ci/run unpacks.
    expect(imageNodeMajor()).toBe(24);
    expect(read('.ci/run')).toMatch(/^NODE24_DIR=\.tmp\/node24$/m);
    expect(read('README.md')).toContain('PATH="$PWD/.tmp/node24/package/bin:$PATH" npm run bench');
  });

  it('runs the default (last) stage and the simulator as a non-root user, from the built dist/', () => {
    const runtime = stages.at(-1)!;
    expect(runtime).toMatch(/^FROM \S+ AS runtime/);
    for (const stage of [runtime, stages.find((s) => / AS simulator/.test(s))!]) {
      const user = [...stage.matchAll(/^USER (\S+)/gm)].at(-1)?.[1];
      expect(user).toBeDefined();
      expect(['root', '0']).not.toContain(user);
    }
    expect(runtime).toContain('--from=prod-deps /app/node_modules');
    // Distroless has no shell and no node on the PATH: exec form with the image's own binary.
    expect(runtime).toMatch(/^ENTRYPOINT \["\/nodejs\/bin\/node", "dist\/cli.js"\]$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .* CMD \["\/nodejs\/bin\/node", "-e", /m);
    expect(runtime).not.toMatch(/^RUN /m);
    // jemalloc, from Debian 13's package (the runtime's release), preloaded; the bench and the integration tests run the
    // exporter with it (test/helpers/imageEnv.ts reads it from here).
    const allocator = stages.find((s) => / AS allocator$/m.test(s))!;
    expect(allocator).toMatch(/^FROM debian:13-slim AS allocator$/m);
    expect(allocator).toMatch(/apt-get install -y --no-install-recommends libjemalloc2/);
    expect(runtime).toMatch(/^COPY --from=allocator \/libjemalloc\.so\.2 \/usr\/local\/lib\/libjemalloc\.so\.2$/m);
    expect(runtime).toMatch(/^ENV LD_PRELOAD=\/usr\/local\/lib\/libjemalloc\.so\.2$/m);
    // One V8 helper thread and a young generation of 4 MiB semi-spaces (docs/performance.md), in NODE_OPTIONS so that a
    // host with cores or memory to spare can change them; compose leaves them as they are.
    expect(runtime).toMatch(/^ENV NODE_OPTIONS="--v8-pool-size=1 --max-semi-space-size=4"$/m);
    expect(JSON.stringify(services.exporter)).not.toContain('NODE_OPTIONS');
  });

  it('gives the history store a directory its user can write, and compose a volume there', () => {
    // storage.path's default is relative to the working directory; /app is root's, and distroless has no shell.
    const runtime = stages.at(-1)!;
    const workdir = [...runtime.matchAll(/^WORKDIR (\S+)$/gm)].at(-1)![1]!;
    expect(configSchema.shape.storage.parse(undefined).path).toBe('data/m365-exporter.db');
    const dataDir = `${workdir}/data`;
    expect(runtime).toMatch(/^WORKDIR \/app$/m);
    expect(runtime).toContain('COPY --from=prod-deps --chown=65532:65532 /state/ ./');
    expect(stages.find((s) => / AS prod-deps$/m.test(s))!).toMatch(/mkdir -p \/state\/data$/m);
    expect(runtime).toMatch(/^FROM \S+:nonroot AS runtime/m); // distroless's nonroot is uid 65532
    const volume = mounts(services.exporter!).find((m) => m.container === dataDir);
    expect(volume, `a volume at ${dataDir}`).toBeDefined();
    expect(volume!.bind).toBe(false);
    expect(Object.keys(compose.volumes ?? {})).toContain(volume!.host);
  });

  it('keeps the simulator out of the runtime image: it runs from its own build, with the dev dependencies it needs', () => {
    const simulator = stages.find((s) => /^FROM \S+ AS simulator$/m.test(s))!;
    expect(simulator).toMatch(/ENTRYPOINT \["node", "dist-simulator\/cli.js"\]/);
    expect(simulator).not.toContain('--from=prod-deps');
    expect(stages.at(-1)!).not.toMatch(/simulator/);
  });

  it('copies only files that exist and keeps build context small', () => {
    for (const [, sources] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of sources!.split(' ')) expect(existsSync(join(ROOT, source)), source).toBe(true);
    }
    const ignored = read('.dockerignore').split('\n');
    expect(ignored).toContain('node_modules');
    expect(ignored).toContain('dist');
  });
});
