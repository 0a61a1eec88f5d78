# m365-health-exporter: multi-stage build, runs as the unprivileged "node" user.
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

# The simulated tenant for the demo stack: same production dependencies (selfsigned makes its TLS certificate).
FROM node:20-slim AS simulator
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /shared && chown node:node /shared
USER node
EXPOSE 8443
ENTRYPOINT ["node", "dist/simulator/cli.js"]

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
