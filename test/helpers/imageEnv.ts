import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DOCKERFILE = fileURLToPath(new URL('../../Dockerfile', import.meta.url));
/** Where Debian (and most distributions) put shared libraries, per architecture. */
const LIBRARY_DIRS = [`/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, '/usr/lib64', '/usr/lib', '/usr/local/lib'];

/** The runtime stage of the Dockerfile: the last one. */
function runtimeStage(): string {
  return readFileSync(DOCKERFILE, 'utf8').split(/^(?=FROM )/m).at(-1)!;
}

/** The runtime image's process settings as the Dockerfile writes them: allocator (`LD_PRELOAD`, `MALLOC_*`), `NODE_OPTIONS`. */
export function dockerfileRuntimeEnv(): Record<string, string> {
  // A value with spaces (several flags) is quoted: ENV NODE_OPTIONS="--a --b".
  return Object.fromEntries([...runtimeStage().matchAll(/^ENV (LD_PRELOAD|MALLOC_\w+|NODE_OPTIONS)=(?:"([^"]*)"|(\S+))$/gm)].map((match) => [match[1]!, match[2] ?? match[3]!]));
}

/**
 * The runtime image's process settings (dockerfileRuntimeEnv) with the preloaded library, jemalloc, found on this
 * machine, so tests and the bench run the exporter as the image runs it.
 */
export function imageRuntimeEnv(): Record<string, string> {
  const env = dockerfileRuntimeEnv();
  if (env.LD_PRELOAD) {
    const library = basename(env.LD_PRELOAD);
    const found = LIBRARY_DIRS.map((dir) => join(dir, library)).find((path) => existsSync(path));
    if (!found) throw new Error(`${library} is not installed; the runtime image preloads it (Dockerfile). Debian: apt-get install libjemalloc2`);
    env.LD_PRELOAD = found;
  }
  return env;
}

/** The major version of Node.js the runtime image runs (its base image, `nodejsNN`). */
export function imageNodeMajor(): number {
  const match = runtimeStage().match(/^FROM \S*nodejs(\d+)\S* AS runtime$/m);
  if (!match) throw new Error('the Dockerfile\'s runtime stage names no nodejsNN base image');
  return Number(match[1]);
}
