// Command original runs the events-1m-process workload through the Go original, Murmur
// (github.com/gallowaysoftware/murmur), as its own parts do it: its JSON-Lines source
// (pkg/source/snapshot/jsonl) reads the file, its streaming runtime (pkg/exec/streaming.Run) folds
// the records with core.Sum per customer into a map-backed store (the Store interface of
// pkg/state; Murmur ships no in-memory one), and the totals are printed for the caller to check.
//
//	original [-decode json|positional] [-concurrency N] FILE
//
// -decode json is the source's default decoder (encoding/json); -decode positional reads the
// three fields of events-1m-process's lines by their fixed layout, with no JSON parser, and fails
// on any other layout. -concurrency is the runtime's WithConcurrency (1: its single loop).
//
// It prints one JSON object: {"records", "seconds", "peakRssMiB", "totals"}; "seconds" covers the
// source, the fold and the reading of the totals (the caller times the whole process).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gallowaysoftware/murmur/pkg/exec/streaming"
	"github.com/gallowaysoftware/murmur/pkg/monoid/core"
	"github.com/gallowaysoftware/murmur/pkg/pipeline"
	"github.com/gallowaysoftware/murmur/pkg/source"
	"github.com/gallowaysoftware/murmur/pkg/source/snapshot/jsonl"
	"github.com/gallowaysoftware/murmur/pkg/state"
)

// order is one line of the file.
type order struct {
	ID         string `json:"_id"`
	CustomerID string `json:"customer_id"`
	Amount     int64  `json:"amount"`
}

// scanned feeds the streaming runtime from a snapshot source (its Scan is the runtime's Read).
type scanned struct{ src *jsonl.Source[order] }

func (s scanned) Read(ctx context.Context, out chan<- source.Record[order]) error {
	return s.src.Scan(ctx, out)
}
func (s scanned) Name() string { return s.src.Name() }
func (s scanned) Close() error { return s.src.Close() }

// mapStore is a state.Store over a map (the runtime may call it from several goroutines).
type mapStore struct {
	mu sync.Mutex
	m  map[state.Key]int64
}

func (s *mapStore) Get(_ context.Context, k state.Key) (int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v, ok, nil
}

func (s *mapStore) GetMany(ctx context.Context, ks []state.Key) ([]int64, []bool, error) {
	vals, oks := make([]int64, len(ks)), make([]bool, len(ks))
	for i, k := range ks {
		vals[i], oks[i], _ = s.Get(ctx, k)
	}
	return vals, oks, nil
}

func (s *mapStore) MergeUpdate(_ context.Context, k state.Key, delta int64, _ time.Duration) error {
	s.mu.Lock()
	s.m[k] += delta
	s.mu.Unlock()
	return nil
}

func (s *mapStore) Close() error { return nil }

var errLayout = errors.New("not a line of the form {\"_id\":\"...\",\"customer_id\":\"...\",\"amount\":N}")

// field reads the string after prefix at the start of line; it returns the value and the rest.
func field(line []byte, prefix string) (string, []byte, error) {
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return "", nil, errLayout
	}
	line = line[len(prefix):]
	end := bytes.IndexByte(line, '"')
	if end < 0 {
		return "", nil, errLayout
	}
	return string(line[:end]), line[end+1:], nil
}

// positional decodes a line by its fixed layout.
func positional(line []byte) (order, error) {
	var o order
	var err error
	if o.ID, line, err = field(line, `{"_id":"`); err != nil {
		return o, err
	}
	if o.CustomerID, line, err = field(line, `,"customer_id":"`); err != nil {
		return o, err
	}
	if !bytes.HasPrefix(line, []byte(`,"amount":`)) {
		return o, errLayout
	}
	line = line[len(`,"amount":`):]
	i := 0
	for ; i < len(line) && line[i] >= '0' && line[i] <= '9'; i++ {
		o.Amount = o.Amount*10 + int64(line[i]-'0')
	}
	if i == 0 || i+1 != len(line) || line[i] != '}' {
		return o, errLayout
	}
	return o, nil
}

type result struct {
	Records    int              `json:"records"`
	Seconds    float64          `json:"seconds"`
	PeakRssMiB float64          `json:"peakRssMiB"`
	Totals     map[string]int64 `json:"totals"`
}

func run() error {
	decode := flag.String("decode", "json", "json (the source's default decoder) or positional")
	concurrency := flag.Int("concurrency", 1, "the streaming runtime's WithConcurrency")
	flag.Parse()
	if flag.NArg() != 1 || (*decode != "json" && *decode != "positional") {
		return errors.New("usage: original [-decode json|positional] [-concurrency N] FILE")
	}
	start := time.Now()
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	var decodeErr error
	cfg := jsonl.Config[order]{
		Reader:        f,
		Name:          "events",
		EventID:       func(o order, _ int) string { return o.ID },
		OnDecodeError: func(_ []byte, n int, err error) { decodeErr = fmt.Errorf("line %d: %w", n, err) },
	}
	if *decode == "positional" {
		cfg.Decode = positional
	}
	src, err := jsonl.NewSource(cfg)
	if err != nil {
		return err
	}
	store := &mapStore{m: map[state.Key]int64{}}
	p := pipeline.NewPipeline[order, int64]("events_totals").
		From(scanned{src}).
		Key(func(o order) string { return o.CustomerID }).
		Value(func(o order) int64 { return o.Amount }).
		Aggregate(core.Sum[int64]()).
		StoreIn(store)
	if err := streaming.Run(context.Background(), p, streaming.WithConcurrency(*concurrency)); err != nil {
		return err
	}
	if decodeErr != nil {
		return decodeErr // the source skips a line it cannot decode: a skipped line must fail the run
	}
	totals := make(map[string]int64, len(store.m))
	for k, v := range store.m {
		totals[k.Entity] = v
	}
	stats := src.Stats()
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return err
	}
	// Linux reports maxrss in KiB
	return json.NewEncoder(os.Stdout).Encode(result{
		Records: int(stats.LinesDecoded), Seconds: time.Since(start).Seconds(), PeakRssMiB: float64(usage.Maxrss) / 1024, Totals: totals,
	})
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "original:", err)
		os.Exit(1)
	}
}
