# Build: a static binary, no cgo (SQLite is pure Go).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/baton ./cmd/baton

# Run: distroless static, as an unprivileged user, nothing but the binary.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/baton /usr/local/bin/baton
USER nonroot:nonroot
WORKDIR /home/nonroot
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=4s --retries=5 CMD ["/usr/local/bin/baton", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/baton"]
CMD ["serve"]
