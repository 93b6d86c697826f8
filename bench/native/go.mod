module effect-monoid-streams/bench/native

go 1.22
