# syntax=docker/dockerfile:1
# rpbus: one static binary in an otherwise empty image. docker-compose.yml
# runs every service from it (rpbus hwbridge, scope, na, specan, simboard).

FROM golang:1.26-alpine AS build
WORKDIR /src
# Modules first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
# Static (no cgo), so it runs on scratch; -trimpath and no symbols for size.
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/rpbus ./cmd/rpbus

FROM scratch
# CA roots for TLS connections to NATS.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/rpbus /rpbus
# Not root: no user database in scratch, so a numeric id.
USER 65532:65532
EXPOSE 4222
ENTRYPOINT ["/rpbus"]
# Alone (`docker run`), the image is the all-in-one demo: embedded NATS,
# the simulated board and every service; JetStream off (no writable store).
CMD ["up", "--listen", "0.0.0.0:4222", "--data", ""]
