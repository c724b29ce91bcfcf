# syntax=docker/dockerfile:1
# cavra-gitops: the reconciler, API and Evidence Console in one small image.
#   docker build -t cavra-gitops:0.1.0 .
#   docker run --rm cavra-gitops:0.1.0 --version
# The image runs the CLI as its entrypoint under tini (signals forwarded, git children reaped),
# as an unprivileged user, and is configured by CAVRA_GITOPS_* environment variables.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: bundle and pack exactly what `npm pack` ships, then install its runtime deps -------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.js ./scripts/build.js
COPY src ./src
COPY schemas ./schemas
COPY manifests ./manifests
COPY console ./console
COPY README.md ./
# npm pack runs prepack (clean + build), so the image holds the same files as the tarball.
RUN npm pack --pack-destination /tmp \
 && mkdir -p /opt/cavra-gitops \
 && tar -xzf /tmp/cavra-gitops-*.tgz -C /opt/cavra-gitops --strip-components=1 \
 && cp package-lock.json /opt/cavra-gitops/ \
 && cd /opt/cavra-gitops \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm package-lock.json \
 && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git openssh-client tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 cavra \
 && useradd --system --uid 10001 --gid cavra --home-dir /var/lib/cavra-gitops --shell /usr/sbin/nologin cavra \
 && mkdir -p /var/lib/cavra-gitops \
 && chown cavra:cavra /var/lib/cavra-gitops
COPY --from=build /opt/cavra-gitops /opt/cavra-gitops
ENV NODE_ENV=production \
    HOME=/var/lib/cavra-gitops \
    CAVRA_GITOPS_HOST=0.0.0.0 \
    CAVRA_GITOPS_PORT=8080 \
    CAVRA_GITOPS_STATE_DIR=/var/lib/cavra-gitops/state
WORKDIR /var/lib/cavra-gitops
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.CAVRA_GITOPS_PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/cavra-gitops/dist/cli/main.js"]
CMD ["start"]
