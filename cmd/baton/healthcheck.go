package main

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// healthcheckCmd probes a running server, for container health checks in
// images without a shell or curl.
type healthcheckCmd struct {
	URL string `help:"URL that must answer 200; default: /readyz on BATON_ADDR (the public listener, with the configuration serve reads)."`
}

// Run exits 0 when the URL answers 200 within 3 s.
func (c *healthcheckCmd) Run(e *env) error {
	u := c.URL
	if u == "" {
		cfg, err := loadConfig(e.Getenv)
		if err != nil {
			return fmt.Errorf("healthcheck: configuration: %w", err)
		}
		u = readyURL(cfg.Addr)
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", u, resp.StatusCode)
	}
	fmt.Fprintln(e.Stdout, "ok")
	return nil
}

// readyURL is /readyz on the listen address (validated host:port), reached
// on loopback when it listens on every interface.
func readyURL(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz"
}
