# syntax=docker/dockerfile:1
# rollguard's controller image (`make image`): build with the full toolchain, run on a slim Node 24 as non-root.
#   docker build -t ghcr.io/rollguard/rollguard:dev .
#   docker run --rm ghcr.io/rollguard/rollguard:dev --help

# --- build: bundle the program into one file ----------------------------------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY hack/build-dist.ts ./hack/
# The bundle records a digest of the files it reads at run time, so they are here too.
COPY models ./models
COPY data/jit/apachejit-small.csv ./data/jit/apachejit-small.csv
RUN npx tsx hack/build-dist.ts --bundle-only

# --- runtime --------------------------------------------------------------------------------------------------
# The controller runs from the esbuild bundle (the program the single executable carries), not from compiled
# modules and node_modules: loading @kubernetes/client-node as ~1,500 modules costs 66 MiB of resident memory,
# bundled 44 MiB (its generated models and APIs). bench/scale.ts runs the operator the way this stage does.
# Nothing from npm is left in the image but what the bundle holds.
FROM node:24-bookworm-slim
# At most two glibc malloc arenas: Node's threads (libuv's pool, V8's helpers) each grow an arena of their own
# and keep freed memory in it; measured by bench/scale.ts, which starts the operator with this image's ENV too.
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app/dist/sea/rollguard.cjs /app/dist/sea/worker-main.cjs ./dist/sea/
COPY models ./models
# The shipped model's training data: the reference the drift of live features is measured against.
COPY data/jit/apachejit-small.csv ./data/jit/apachejit-small.csv
# The distroless "nonroot" user; the Helm chart runs it with runAsNonRoot and a read-only root filesystem.
USER 65532:65532
EXPOSE 8080
# A 2 MiB young generation instead of V8's default 16 MiB semi-spaces: about 40 MiB less resident memory for a
# few more (short) scavenges. --optimize-for-size makes V8 collect the old generation before garbage piles up:
# at 5,000 Deployments the live heap is ~90 MiB, yet without it the heap grew to 208 MiB and the process to
# 369 MiB; with it 72 MiB and 175 MiB, with no slower assessment or verification. Both measured by
# bench/scale.ts, which starts the operator with these same flags.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--optimize-for-size", "dist/sea/rollguard.cjs"]
CMD ["controller"]
