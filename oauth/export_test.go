package oauth

// Hashes reports how many argon2id hashes the service has computed.
func (s *Service) Hashes() int64 { return s.hasher.runs.Load() }
