# syntax=docker/dockerfile:1
# rollguard's controller image (`make image`): build with the full toolchain, run on a slim Node 24 as non-root.
#   docker build -t ghcr.io/rollguard/rollguard:dev .
#   docker run --rm ghcr.io/rollguard/rollguard:dev --help

# --- build: compile TypeScript, then keep only the production dependencies -----------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# --- runtime --------------------------------------------------------------------------------------------------
# package.json lists the `node` npm package as a devDependency only (it pins Node for development); npm prune
# removed it, so the controller runs on this image's own Node 24.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY models ./models
# The shipped model's training data: the reference the drift of live features is measured against.
COPY data/jit/apachejit-small.csv ./data/jit/apachejit-small.csv
COPY package.json ./
# The distroless "nonroot" user; the Helm chart runs it with runAsNonRoot and a read-only root filesystem.
USER 65532:65532
EXPOSE 8080
# A 2 MiB young generation instead of V8's default 16 MiB semi-spaces: about 40 MiB less resident memory for a
# few more (short) scavenges; measured by bench/scale.ts, which starts the operator with these same flags.
ENTRYPOINT ["node", "--max-semi-space-size=2", "dist/src/cli/main.js"]
CMD ["controller"]
