package main

import (
	"fmt"
	"net/http"
	"time"
)

// healthcheckCmd probes a running server, for container health checks in
// images without a shell or curl.
type healthcheckCmd struct {
	URL string `default:"http://127.0.0.1:8080/readyz" help:"URL that must answer 200."`
}

// Run exits 0 when the URL answers 200 within 3 s.
func (c *healthcheckCmd) Run(e *env) error {
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(c.URL)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", c.URL, resp.StatusCode)
	}
	fmt.Fprintln(e.stdout, "ok")
	return nil
}
