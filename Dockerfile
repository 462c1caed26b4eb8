# model-sync: build with Swift, run on a slim Debian with the six C libraries' runtime packages.
#   docker build -t model-sync .
#   docker compose up -d model-sync-client      (see docker-compose.yml and docs/operations.md)
ARG SWIFT_VERSION=6.1
FROM swift:${SWIFT_VERSION}-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libsqlite3-dev libcurl4-openssl-dev libgit2-dev libssl-dev libyaml-dev libzip-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a source change does not re-resolve them.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
# The Swift runtime and Foundation are linked statically: the runtime image needs only the C libraries.
RUN swift build -c release --static-swift-stdlib --product model-sync \
 && install -m 0755 .build/release/model-sync /usr/local/bin/model-sync

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libsqlite3-0 libcurl4 libgit2-1.5 libssl3 libyaml-0-2 libzip4 libstdc++6 \
      ca-certificates tzdata openssh-client \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/model-sync /usr/local/bin/model-sync
# The bot's data volume holds models/ (a symlink) and .model-sync/ (the store) side by side.
WORKDIR /app
ENTRYPOINT ["model-sync"]
CMD ["--help"]
