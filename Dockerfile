# m365-health-exporter: multi-stage build on Node.js 24 LTS. The runtime image is distroless (Node.js and its
# libraries, no shell, no npm) and runs as its unprivileged "nonroot" user (uid 65532); it holds dist/ and production
# node_modules only.
#   docker build -t m365-health-exporter .                      # the exporter (default target)
#   docker build --target simulator -t m365-graph-simulator .   # the simulated tenant used by docker-compose.yml

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only.
FROM build AS prod-deps
RUN npm prune --omit=dev && mkdir -p /state/data

# The simulated tenant (simulator/, its own build into dist-simulator/): a test double, never in the runtime image.
FROM build AS build-simulator
COPY tsconfig.simulator.json ./
COPY simulator ./simulator
RUN npm run build:simulator

# The simulated tenant for the demo stack. It keeps the build stage's dev dependencies: selfsigned makes its TLS
# certificate and is a dev dependency, since the exporter never needs it. docker-compose.yml's healthcheck needs node
# on the PATH, which node:24-slim has.
FROM node:24-slim AS simulator
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build-simulator /app/package.json ./
COPY --from=build-simulator /app/node_modules ./node_modules
COPY --from=build-simulator /app/dist-simulator ./dist-simulator
RUN mkdir -p /shared && chown node:node /shared
USER node
EXPOSE 8443
ENTRYPOINT ["node", "dist-simulator/cli.js"]

# jemalloc for the runtime image, which has no package manager: Debian 13's package, the runtime's own Debian release.
# The path is the same on every architecture, for LD_PRELOAD below.
FROM debian:13-slim AS allocator
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 \
  && cp "$(dpkg -L libjemalloc2 | grep '/libjemalloc\.so\.2$')" /libjemalloc.so.2

# Distroless images are built for Debian 13 only since Feb 2026 (GoogleContainerTools/distroless commit 5cd38c1e,
# "Remove nodejs debian12 builds"); Node.js is /nodejs/bin/node there.
FROM gcr.io/distroless/nodejs24-debian13:nonroot AS runtime
ENV NODE_ENV=production
# jemalloc instead of glibc's malloc: glibc returns freed memory from the middle of its heap only when asked
# (malloc_trim), so the native memory of a busy moment (a fleet's first refreshes, the history file written each minute)
# stays resident for good; jemalloc hands back what has been free for 10 s. At 500 tenants: 300-310 MiB RSS, against
# 400-550 with glibc, of which malloc_trim gave back 166 MiB (docs/performance.md).
COPY --from=allocator /libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
# One V8 helper thread, not Node.js' default four whatever the CPUs: the garbage collector's concurrent marking ran on
# four threads and took both cores of a 2-core machine from the event loop at 1000 tenants (4-22 health checks over
# 45 ms in 3-4 minutes, up to 227 ms; with one thread 0-7, up to 96 ms; docs/performance.md). The pods have one core.
# A young generation of two 4 MiB semi-spaces: without the cap, Node.js 24 let a 500-tenant exporter's heap grow to
# 239 MiB, its RSS to 521-590 MiB; with it, 116-119 and 359-420 (docs/performance.md).
ENV NODE_OPTIONS="--v8-pool-size=1 --max-semi-space-size=4"
WORKDIR /app
COPY --from=prod-deps /app/package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The history store's default file (storage.path: data/m365-exporter.db, from the working directory), writable by
# the user it runs as: the image has no shell to make it. Copied as an entry of /state/, so --chown applies to the
# directory itself, not only to what it holds. Mount a volume here to keep the history across containers
# (docker-compose.yml does; the Kubernetes pods mount one, their root filesystem being read-only).
COPY --from=prod-deps --chown=65532:65532 /state/ ./
USER nonroot
EXPOSE 9877
# Plain HTTP on the default port; with --web.config.file (TLS, basic auth) override or disable it (Kubernetes uses its own probes).
HEALTHCHECK --interval=30s --timeout=5s CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:9877/-/healthy').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/nodejs/bin/node", "dist/cli.js"]
CMD ["--config.file", "/etc/m365-health-exporter/config.yml"]
