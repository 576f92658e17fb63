package gormstore

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
)

// DefaultSynchronous is SQLite's synchronous pragma unless the URL says
// otherwise (sqlite:PATH?synchronous=full). In WAL mode NORMAL syncs at
// checkpoints only: a power loss (not a crash of baton) may undo the last
// acknowledged commits, a revoke or a rotation among them, but never
// corrupts the database. FULL syncs the WAL at every commit and halves the
// refresh throughput on the machine of docs/PERFORMANCE.md, so it is the
// operator's choice.
const DefaultSynchronous = "NORMAL"

// SQLiteFile returns the database file of a SQLite URL and whether the URL
// is one: sqlite:PATH, sqlite://PATH (relative) and sqlite:///PATH
// (absolute), with an optional ?synchronous=. It is the one mapping from
// URL to file: the store opens it and the local KEK lives at its path plus
// ".kek".
func SQLiteFile(databaseURL string) (string, bool) {
	if !strings.HasPrefix(databaseURL, "sqlite:") {
		return "", false
	}
	path, _, err := parseSQLite(databaseURL)
	return path, err == nil
}

// parseSQLite splits a sqlite: URL into its file and synchronous mode.
func parseSQLite(raw string) (path, synchronous string, err error) {
	rest, _ := strings.CutPrefix(raw, "sqlite:")
	rest = strings.TrimPrefix(rest, "//")
	path, query, _ := strings.Cut(rest, "?")
	if path == "" || strings.ContainsAny(path, "#\x00") {
		return "", "", errors.New("gormstore: sqlite URL needs a plain file path, as in sqlite:baton.db")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", "", errors.New("gormstore: malformed sqlite URL query")
	}
	synchronous = DefaultSynchronous
	for k, v := range q {
		switch mode := strings.ToUpper(v[0]); {
		case k == "synchronous" && len(v) == 1 && (mode == "FULL" || mode == "NORMAL"):
			synchronous = mode
		default:
			return "", "", fmt.Errorf("gormstore: sqlite URL: unknown parameter %q (only synchronous=full or synchronous=normal)", truncate(k))
		}
	}
	return path, synchronous, nil
}

// createPrivate creates the SQLite database file with mode 0600 if it does
// not exist: SQLite would create it 0644, and gives its -wal and -shm files
// the database file's permissions, so all three stay private like the KEK
// beside them. An existing file keeps its mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("gormstore: create %s: %w", path, err)
	}
	return f.Close()
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
