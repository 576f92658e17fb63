package oauth

import "time"

// Metrics receives the protocol's events, for counters. Implementations
// are safe for concurrent use; a nil Metrics in Options counts nothing.
type Metrics interface {
	TokenIssued(grant string)
	TokenRefused(grant, code string)
	RefreshRotated()
	GraceReplay()
	ReuseDetected()
	// SessionsEnded counts sessions revoked or found expired, by reason.
	SessionsEnded(reason string, n int)
	LoginThrottled()
	// HashWaited observes how long a password or secret hash waited for
	// a slot of the hashing budget.
	HashWaited(time.Duration)
}

type noMetrics struct{}

func (noMetrics) TokenIssued(string)          {}
func (noMetrics) TokenRefused(string, string) {}
func (noMetrics) RefreshRotated()             {}
func (noMetrics) GraceReplay()                {}
func (noMetrics) ReuseDetected()              {}
func (noMetrics) SessionsEnded(string, int)   {}
func (noMetrics) LoginThrottled()             {}
func (noMetrics) HashWaited(time.Duration)    {}
