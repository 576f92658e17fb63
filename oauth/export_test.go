package oauth

// Hashes reports how many argon2id hashes the shared hasher has computed.
func (s *Shared) Hashes() int64 { return s.sh.hasher.runs.Load() }

// BlockHashing takes every hash slot until the returned function is called.
func (s *Shared) BlockHashing() (unblock func()) {
	n := cap(s.sh.hasher.slots)
	for range n {
		s.sh.hasher.slots <- struct{}{}
	}
	return func() {
		for range n {
			<-s.sh.hasher.slots
		}
	}
}

// HashWaiters reports how many hashes wait for a slot.
func (s *Shared) HashWaiters() int64 { return s.sh.hasher.Waiting() }

// SecretWaiters reports how many callers wait for shared client-secret
// verifications.
func (s *Shared) SecretWaiters() int {
	g := &s.sh.clients.verify
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, f := range g.m {
		n += f.waiters
	}
	return n
}
