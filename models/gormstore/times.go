package gormstore

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// micros is a time stored as microseconds since the Unix epoch (BIGINT in
// both databases: exact, sortable, dialect-free); NULL is the zero time.
// Times round-trip in UTC, truncated to the microsecond.
type micros int64

// dayMicros is a day in microseconds: sessions.used_day is last_used_at /
// dayMicros (schemaV8).
const dayMicros int64 = 24 * 60 * 60 * 1e6

func toMicros(t time.Time) micros {
	if t.IsZero() {
		return 0
	}
	return micros(t.UnixMicro())
}

func (m micros) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(m)).UTC()
}

// Value stores the zero time as NULL.
func (m micros) Value() (driver.Value, error) {
	if m == 0 {
		return nil, nil
	}
	return int64(m), nil
}

// Scan reads BIGINT or NULL.
func (m *micros) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*m = 0
	case int64:
		*m = micros(x)
	default:
		return fmt.Errorf("gormstore: scan time from %T", v)
	}
	return nil
}
