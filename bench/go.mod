module github.com/gatehouse/gatehouse/bench

go 1.26.0

require (
	github.com/gatehouse/gatehouse v0.0.0
	github.com/jackc/pgx/v5 v5.12.0
)

require (
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	golang.org/x/text v0.44.0 // indirect
)

// The benchmarks build against the checkout they live in.
replace github.com/gatehouse/gatehouse => ../
