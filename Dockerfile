# Build: a static binary, no cgo (SQLite is pure Go).
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) -t baton .
FROM golang:1.26-bookworm AS build
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src
# The resource-server modules are required through replace directives to
# their directories: their go.mod files are needed to download.
COPY go.mod go.sum ./
COPY oauth/resource/go.mod oauth/resource/go.sum ./oauth/resource/
COPY oauth/resource/ginresource/go.mod oauth/resource/ginresource/go.sum ./oauth/resource/ginresource/
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/baton ./cmd/baton

# Run: distroless static, as an unprivileged user, nothing but the binary.
# The SQLite database and its generated KEK (baton.db, baton.db.kek) live in
# the working directory /home/nonroot: mount a volume there to keep them.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="baton" \
      org.opencontainers.image.description="OAuth 2.0 authorization server with rotating refresh tokens" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.source="https://github.com/batonhq/baton" \
      org.opencontainers.image.documentation="https://github.com/batonhq/baton/blob/main/docs/deployment.md"
COPY --from=build /out/baton /usr/local/bin/baton
USER nonroot:nonroot
WORKDIR /home/nonroot
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=4s --retries=5 CMD ["/usr/local/bin/baton", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/baton"]
CMD ["serve"]
