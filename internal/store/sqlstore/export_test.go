package sqlstore

// MigrationCount returns how many embedded migrations the dialect has, for
// the external tests.
func MigrationCount(dialect string) (int, error) {
	ms, err := loadMigrations(dialect)
	return len(ms), err
}
