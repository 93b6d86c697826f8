module effect-monoid-streams/bench/original

go 1.26.2

require github.com/gallowaysoftware/murmur v0.0.0

// The Go original is not served by the Go module proxy: bench/scenarios/original.ts builds this
// program with a copy of this file whose replace names the checkout in MURMUR_SRC.
replace github.com/gallowaysoftware/murmur => ./murmur-src-not-set
