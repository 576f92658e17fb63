package gormstore

import "database/sql"

// Stats returns the connection pool's statistics (for the baton_db_*
// metrics), read without a query.
func (s *Store) Stats() sql.DBStats { return s.sqlDB.Stats() }
