# dstack-gov: the CLI, the governance services (`run`, `serve`) and the boot-auth webhook (`authapi`).
# The contract artifacts are committed, so the image needs no Node.js toolchain.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY contracts ./contracts
COPY proposals ./proposals
COPY bot ./bot
COPY authapi ./authapi
COPY dstack_gov ./dstack_gov
RUN pip install --no-cache-dir --prefix=/install -c requirements.lock ".[postgres]"

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/dstack-gov --create-home dstack-gov
COPY --from=build /install /usr/local
USER dstack-gov
WORKDIR /var/lib/dstack-gov
ENV PYTHONUNBUFFERED=1
# The webhook's default port; `run`/`serve` use [api] port (8080) from the config.
EXPOSE 8000 8080
ENTRYPOINT ["dstack-gov"]
CMD ["--help"]
