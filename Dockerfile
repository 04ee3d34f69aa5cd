# dstack-gov: the CLI, the governance services (`run`, `serve`) and the boot-auth webhook (`authapi`).
#
# Stages (the last one, `runtime`, is what `docker build .` produces):
#   build    installs the package and its pinned dependencies (requirements.lock) into /install
#   tools    the pinned npm tools (anvil, cast, solc-js, OpenZeppelin) from package-lock.json
#   dev      the source, the tests and the npm tools, for `make test` and the devnet (docker build --target dev)
#   runtime  Python and the installed package only, as a non-root user, with a health check
# The contract artifacts are committed, so the runtime needs no Node.js toolchain.

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:22-slim

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY foundation ./foundation
COPY contracts ./contracts
COPY proposals ./proposals
COPY bot ./bot
COPY authapi ./authapi
COPY dstack_gov ./dstack_gov
RUN pip install --no-cache-dir --prefix=/install -c requirements.lock ".[postgres]"

FROM ${NODE_IMAGE} AS tools
WORKDIR /tools
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM ${PYTHON_IMAGE} AS dev
COPY --from=tools /usr/local/bin/node /usr/local/bin/node
WORKDIR /src
COPY . .
COPY --from=tools /tools/node_modules ./node_modules
RUN pip install --no-cache-dir -c requirements.lock -e ".[dev]"
CMD ["pytest", "-q"]

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --home-dir /var/lib/dstack-gov --create-home dstack-gov
COPY --from=build /install /usr/local
USER dstack-gov
WORKDIR /var/lib/dstack-gov
ENV PYTHONUNBUFFERED=1 \
    DSTACK_GOV_CONFIG=/etc/dstack-gov/dstack-gov.toml \
    DSTACK_GOV_HEALTH_URL=http://127.0.0.1:8080/healthz
# The webhook's default port; `run`/`serve` use [api] port (8080).
EXPOSE 8000 8080
# Liveness only: /healthz reads nothing, so a down RPC or database does not get the container restarted
# (/readyz says whether it can serve). The webhook container points DSTACK_GOV_HEALTH_URL at its /metrics.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['DSTACK_GOV_HEALTH_URL'], timeout=4)"]
ENTRYPOINT ["dstack-gov"]
CMD ["--help"]
