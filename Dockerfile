# m365-health-exporter: multi-stage build, runs as the unprivileged "node" user. The runtime image holds dist/ and
# production node_modules only.
#   docker build -t m365-health-exporter .                      # the exporter (default target)
#   docker build --target simulator -t m365-graph-simulator .   # the simulated tenant used by docker-compose.yml

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only.
FROM build AS prod-deps
RUN npm prune --omit=dev

# The simulated tenant (simulator/, its own build into dist-simulator/): a test double, never in the runtime image.
FROM build AS build-simulator
COPY tsconfig.simulator.json ./
COPY simulator ./simulator
RUN npm run build:simulator

# The simulated tenant for the demo stack. It keeps the build stage's dev dependencies: selfsigned makes its TLS
# certificate and is a dev dependency, since the exporter never needs it.
FROM node:20-slim AS simulator
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build-simulator /app/package.json ./
COPY --from=build-simulator /app/node_modules ./node_modules
COPY --from=build-simulator /app/dist-simulator ./dist-simulator
RUN mkdir -p /shared && chown node:node /shared
USER node
EXPOSE 8443
ENTRYPOINT ["node", "dist-simulator/cli.js"]

FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 9877
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "fetch('http://127.0.0.1:9877/-/healthy').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["--config", "/etc/m365-health-exporter/config.yml"]
