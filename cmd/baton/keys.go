package main

import (
	"fmt"
	"text/tabwriter"
	"time"
)

type keysListCmd struct{}

// Run prints the signing keys with their state and schedule.
func (keysListCmd) Run(e *env) error {
	a, err := open(e)
	if err != nil {
		return err
	}
	defer a.Close()
	ring, err := a.ring(e.ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KID\tALG\tSTATE\tCREATED\tACTIVATES\tRETIRES\tREMOVED")
	for _, k := range ring.Keys() {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Alg, k.State,
			stamp(k.CreatedAt), stamp(k.ActivateAt), stamp(k.RetireAt), stamp(k.RemoveAt))
	}
	return w.Flush()
}

type keysRotateCmd struct{}

// Run makes the next key active now.
func (keysRotateCmd) Run(e *env) error {
	a, err := open(e)
	if err != nil {
		return err
	}
	defer a.Close()
	ring, err := a.ring(e.ctx)
	if err != nil {
		return err
	}
	if err := ring.Rotate(e.ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "rotated: %s signs now; running servers switch within %s\n", ring.ActiveKeyID(), ring.ReloadInterval())
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
