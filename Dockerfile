# syntax=docker/dockerfile:1
#
# wxlogin and the WeChat simulator in one small image.
#   docker build -t wxlogin:dev .            (or: make docker)
#   docker run --rm -p 127.0.0.1:8080:8080 -e LISTEN_ADDR=:8080 wxlogin:dev
#                                             (simulator mode, SQLite in /app/data; simulator
#                                             mode listens on loopback unless LISTEN_ADDR says)
#   docker run --rm --env-file prod.env wxlogin:dev migrate
# The default command is `wxlogin serve`; `docker run IMAGE migrate` or `admin ...` run the
# other subcommands, `--entrypoint /usr/local/bin/wechat-sim` runs the simulator.

# ---- build ------------------------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src

COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/ ./cmd/wxlogin ./cmd/wechat-sim \
 && mkdir -p /out/data

# ---- runtime ----------------------------------------------------------------------------
# distroless/static: CA certificates and tzdata, no shell, no package manager; runs as
# nonroot (uid/gid 65532). Templates, static files and migrations are embedded in the binary.
FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/wxlogin /out/wechat-sim /usr/local/bin/
# data/ is where the SQLite file and dev secrets go when DATABASE_URL is unset.
COPY --from=build --chown=65532:65532 /out/data /app/data
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/wxlogin"]
CMD ["serve"]
