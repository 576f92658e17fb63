package main

// The build's version and commit, set at link time:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)" ./cmd/baton
//
// The Dockerfile passes them from its VERSION and COMMIT build arguments;
// baton_build_info exposes them. Empty in a plain go build ("unknown").
var version, commit string
