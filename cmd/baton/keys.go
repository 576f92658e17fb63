package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/keys"
)

type keysListCmd struct{}

// Run prints the signing keys with their state and schedule.
func (keysListCmd) Run(e *env) error {
	return withRing(e, func(_ *app, ring *keys.Ring) error { return listKeys(e, ring) })
}

func listKeys(e *env, ring *keys.Ring) error {
	w := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
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
	return withRing(e, func(a *app, ring *keys.Ring) error {
		if err := ring.Rotate(e.Ctx); err != nil {
			return keysError(err, a.cfg)
		}
		fmt.Fprintf(e.Stdout, "rotated: %s signs now; running servers switch within %s\n", ring.ActiveKeyID(), ring.ReloadInterval())
		return nil
	})
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

type keysRekeyCmd struct {
	NewKEKStdin bool `name:"new-kek-stdin" help:"Read the new KEK (base64 of 32 bytes) from stdin (required)."`
}

// Run re-seals every signing key under a new KEK (KEK rotation).
func (c *keysRekeyCmd) Run(e *env) error {
	line, err := stdinSecret(e, c.NewKEKStdin, "new-kek-stdin", "new KEK")
	if err != nil {
		return err
	}
	newKEK, err := keys.ParseKEK(line)
	if err != nil {
		return fmt.Errorf("new KEK: %w", err)
	}
	return withApp(e, func(a *app) error {
		oldKEK, err := a.kek()
		if err != nil {
			return err
		}
		n, err := keys.Rekey(e.Ctx, a.store, oldKEK, newKEK)
		if err != nil {
			return keysError(err, a.cfg)
		}
		fmt.Fprintf(e.Stdout, "%d signing keys re-sealed; restart every instance with the new BATON_KEK\n", n)
		return nil
	})
}
