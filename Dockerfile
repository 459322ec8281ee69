# syntax=docker/dockerfile:1
# The ptel image: one image, every subcommand (serve, normalize, migrate, ...).
#   docker build -t ptel:local .
#   docker run --rm ptel:local serve

# ---- build: full install, compile TypeScript, then drop the dev dependencies
FROM node:20-bookworm-slim AS build
WORKDIR /app

# Dependencies first, so that this layer is cached while only sources change.
# npm ci installs exactly the lock file (which lists every platform package of chdb's
# engine, so it is complete on any machine).
# --ignore-scripts: the root package's `prepare` script runs the build, which
# cannot work before the sources are copied (no dependency needs its install
# script: chdb's is empty and msgpackr-extract loads a prebuilt binary).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY app ./app
COPY cli ./cli
COPY connectors ./connectors
COPY mapping ./mapping
COPY workers ./workers
COPY schemas ./schemas
COPY infra ./infra
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: production dependencies, compiled code, migrations
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app

# package.json must sit beside schemas/: the code finds its root (and so
# schemas/migrations, read at run time) by looking for both.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schemas/migrations ./schemas/migrations

USER node
# The HTTP port of each role: run 8080, serve 8081, normalize 8082, connect 8083 (PTEL_HTTP_PORT sets another).
EXPOSE 8080 8081 8082 8083
ENTRYPOINT ["node", "dist/cli/main.js"]
