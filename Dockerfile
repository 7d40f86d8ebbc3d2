# syntax=docker/dockerfile:1
# Catraca authorizer image: multi-stage, Node 24 LTS, production dependencies only, non-root, node as PID 1.
#
#   docker build -t catraca/authorizer:local .
#   docker run --rm -p 8080:8080 -e ALLOW_UNAUTHENTICATED=true catraca/authorizer:local     # local demo only
#
# Not built here: the development machine has no Docker engine. The stages below were replayed by hand on the
# host (pnpm install --frozen-lockfile, tsc -b packages/authorizer, pnpm deploy --prod --legacy, node dist/main.js).
# Works with the classic builder too (no BuildKit-only syntax), which is what docker-compose 1.29 uses by default.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: full install (dev dependencies for tsc), compile, then a production-only copy of the service ----
FROM ${NODE_IMAGE} AS build
# better-sqlite3 is a native addon: node-gyp needs python3, make and a C++ compiler when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# The same pnpm as package.json's "packageManager", so pnpm does not switch versions by itself.
ARG PNPM_VERSION=10.34.9
RUN npm install -g --no-audit --no-fund "pnpm@${PNPM_VERSION}"
ENV CI=true
WORKDIR /src

# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY packages/coordination/package.json packages/coordination/
COPY packages/cache/package.json packages/cache/
COPY packages/authorizer/package.json packages/authorizer/
RUN pnpm install --frozen-lockfile

COPY tsconfig.base.json tsconfig.json ./
COPY packages ./packages
RUN pnpm exec tsc -b packages/authorizer

# /out: the service's package.json, dist/, and a node_modules with production dependencies only; the workspace
# packages (@catraca/coordination, @catraca/cache) are copied in as ordinary packages (their "files": dist).
# --legacy: the workspace does not use inject-workspace-packages (pnpm 10's default deploy requires it).
RUN pnpm --filter @catraca/authorizer deploy --prod --legacy /out

# ---- runtime: no compilers, no pnpm, no sources ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
# Root-owned and read-only to the service user; only /data (SQLite in embedded mode) is writable.
COPY --from=build /out/ /app/
RUN mkdir -p /data && chown 1000:1000 /data
# The base image's "node" user (uid/gid 1000), by number so Kubernetes' runAsNonRoot can check it.
USER 1000:1000
EXPOSE 8080
# Liveness only (the process answers). Kubernetes ignores this and uses its own probes; compose overrides it with
# /readyz for the authorizer services.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM directly (no shell in between). PID 1 gets no default signal
# actions from the kernel, which is fine here because main.js installs its own SIGTERM/SIGINT handlers (readiness
# off, drain, release locks, exit). No tini: the service spawns no child processes, so there are no zombies to
# reap. (`docker run --init` adds one anyway if wanted; it changes nothing for the service.)
# Binding to 0.0.0.0 needs AUTHORIZE_TOKENS and ADMIN_TOKENS, or ALLOW_UNAUTHENTICATED=true (start-up refuses otherwise).
CMD ["node", "dist/main.js"]
