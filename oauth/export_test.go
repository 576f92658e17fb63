package oauth

// Hashes reports how many argon2id hashes the service has computed.
func (s *Service) Hashes() int64 { return s.hasher.runs.Load() }

// BlockHashing takes every hash slot until the returned function is called.
func (s *Service) BlockHashing() (unblock func()) {
	n := cap(s.hasher.slots)
	for range n {
		s.hasher.slots <- struct{}{}
	}
	return func() {
		for range n {
			<-s.hasher.slots
		}
	}
}

// HashWaiters reports how many hashes wait for a slot.
func (s *Service) HashWaiters() int64 { return s.hasher.Waiting() }

// SecretWaiters reports how many callers wait for shared client-secret
// verifications.
func (s *Service) SecretWaiters() int {
	g := &s.clients.verify
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, f := range g.m {
		n += f.waiters
	}
	return n
}
