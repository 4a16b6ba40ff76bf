# One image for the five services and the gateway; SERVICE picks which one runs. Multi-stage: the build
# stage compiles TypeScript to JavaScript (tools/build.js, swc) and the dashboard (vite); the runtime stage
# has Node 24 (the current LTS), the production dependencies and the compiled code only — no TypeScript,
# no ts-node, no dev dependencies — and runs as the unprivileged `node` user.
# tests/deploy/compiled-image.integration-spec.ts runs these same build commands and starts a compiled
# service with plain `node` (there is no Docker engine where the tests run).

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY tools/build.js tools/build.js
COPY libs libs
COPY apps apps
RUN node tools/build.js dist/server \
 && npx vite build --config apps/dashboard/vite.config.mts

FROM node:24-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps --chown=root:root /app/node_modules node_modules
COPY --from=build --chown=root:root /app/dist dist
COPY package.json ./
# The gateway serves the dashboard from here (its default is relative to the source tree, not to dist/server).
ENV DASHBOARD_DIR=/app/dist/apps/dashboard
ARG SERVICE=ingestion
ENV SERVICE=${SERVICE}
# Files stay root-owned and read-only to the process; it writes nothing to disk.
USER node
# Flags as in tools/service-node-flags.js (tests/deploy/dockerfile.spec.ts keeps them equal).
CMD ["sh", "-c", "exec node --enable-source-maps --max-semi-space-size=32 dist/server/apps/${SERVICE}/src/main.js"]
