// Command foldceiling is the native ceiling of the fold benchmarks: the hand-written JavaScript
// ceilings of bench/scenarios/fold.ts (a ledger and a sum per customer over changes) and
// bench/scenarios/events.ts (a sum per customer over events), written in Go, over the workload the
// JavaScript side generated and wrote to a file (bench/scenarios/native.ts).
//
//	foldceiling changes|events FILE
//	foldceiling jsonl FILE
//
// It reads the whole file first, then times the fold loop alone, and prints one JSON object:
// {"records", "seconds", "peakRssMiB", "totals"}. The caller checks the totals against the
// JavaScript ceiling's.
//
// In jsonl mode it is a whole process of the events-1m-process scenario: it reads a JSON-Lines
// file of events line by line, decodes each line with encoding/json and sums the amount per
// customer ("seconds" then covers reading, decoding and summing; the caller times the process).
//
// The file (little-endian): "FOLDNAT1", u32 string count, each string as u32 length and UTF-8
// bytes, u32 record count, each record as u8 tag (0 upsert, 1 delete, 2 event, 3 other), u32
// document id and u32 customer (indexes into the strings, 0xFFFFFFFF for none), then the version's
// two numbers and the amount as float64 (integers).
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"time"
)

const (
	tagUpsert = 0
	tagDelete = 1
	tagEvent  = 2
	none      = math.MaxUint32
)

type record struct {
	doc      string
	customer string
	hi, lo   int64
	amount   int64
	tag      uint8
}

// ledgerRow is what the JavaScript ceiling keeps per document: the customer its amount was added
// to (none after a delete), that amount, and the version.
type ledgerRow struct {
	key    string
	value  int64
	hi, lo int64
	live   bool
}

// foldChanges is fold.ts's ceiling: a record older than the document's ledger entry is skipped;
// otherwise the entry's contribution is retracted and the record's added.
func foldChanges(records []record) (int, map[string]int64) {
	ledger := map[string]ledgerRow{}
	totals := map[string]int64{}
	n := 0
	for i := range records {
		r := &records[i]
		n++
		if r.tag != tagUpsert && r.tag != tagDelete {
			continue
		}
		cur, found := ledger[r.doc]
		if found && !(r.hi > cur.hi || (r.hi == cur.hi && r.lo > cur.lo)) {
			continue
		}
		if found && cur.live {
			totals[cur.key] -= cur.value
		}
		if r.tag == tagUpsert {
			totals[r.customer] += r.amount
			ledger[r.doc] = ledgerRow{key: r.customer, value: r.amount, hi: r.hi, lo: r.lo, live: true}
		} else {
			ledger[r.doc] = ledgerRow{hi: r.hi, lo: r.lo}
		}
	}
	return n, totals
}

// foldEvents is events.ts's ceiling: a sum per customer.
func foldEvents(records []record) (int, map[string]int64) {
	totals := map[string]int64{}
	n := 0
	for i := range records {
		r := &records[i]
		n++
		if r.tag != tagEvent {
			continue
		}
		totals[r.customer] += r.amount
	}
	return n, totals
}

type reader struct {
	b   []byte
	off int
}

var errShort = errors.New("truncated file")

func (r *reader) take(n int) ([]byte, error) {
	if r.off+n > len(r.b) {
		return nil, errShort
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out, nil
}

func (r *reader) u32() (uint32, error) {
	b, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) integer() (int64, error) {
	b, err := r.take(8)
	if err != nil {
		return 0, err
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(b))
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("not an integer: %v", f)
	}
	return int64(f), nil
}

func parse(b []byte) ([]record, error) {
	r := &reader{b: b}
	magic, err := r.take(8)
	if err != nil || string(magic) != "FOLDNAT1" {
		return nil, errors.New("not a FOLDNAT1 file")
	}
	count, err := r.u32()
	if err != nil {
		return nil, err
	}
	strs := make([]string, count)
	for i := range strs {
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		s, err := r.take(int(n))
		if err != nil {
			return nil, err
		}
		strs[i] = string(s)
	}
	str := func(i uint32) (string, error) {
		if i == none {
			return "", nil
		}
		if int(i) >= len(strs) {
			return "", fmt.Errorf("string %d out of range", i)
		}
		return strs[i], nil
	}
	count, err = r.u32()
	if err != nil {
		return nil, err
	}
	records := make([]record, count)
	for i := range records {
		tag, err := r.take(1)
		if err != nil {
			return nil, err
		}
		rec := &records[i]
		rec.tag = tag[0]
		for _, s := range []*string{&rec.doc, &rec.customer} {
			idx, err := r.u32()
			if err != nil {
				return nil, err
			}
			if *s, err = str(idx); err != nil {
				return nil, err
			}
		}
		for _, x := range []*int64{&rec.hi, &rec.lo, &rec.amount} {
			if *x, err = r.integer(); err != nil {
				return nil, err
			}
		}
	}
	if r.off != len(b) {
		return nil, errors.New("trailing bytes")
	}
	return records, nil
}

type result struct {
	Records    int              `json:"records"`
	Seconds    float64          `json:"seconds"`
	PeakRssMiB float64          `json:"peakRssMiB"`
	Totals     map[string]int64 `json:"totals"`
}

// event is one line of the jsonl mode's file.
type event struct {
	CustomerID string `json:"customer_id"`
	Amount     int64  `json:"amount"`
}

// sumLines reads the JSON-Lines file at path and sums the amount per customer.
func sumLines(path string) (int, map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	totals := map[string]int64{}
	n := 0
	scanner := bufio.NewScanner(bufio.NewReaderSize(f, 1<<20))
	scanner.Buffer(make([]byte, 1<<20), 8<<20)
	for scanner.Scan() {
		line := scanner.Bytes()
		if len(line) == 0 {
			continue
		}
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			return n, nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		totals[e.CustomerID] += e.Amount
		n++
	}
	return n, totals, scanner.Err()
}

func report(n int, seconds float64, totals map[string]int64) error {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return err
	}
	// Linux reports maxrss in KiB
	return json.NewEncoder(os.Stdout).Encode(result{Records: n, Seconds: seconds, PeakRssMiB: float64(usage.Maxrss) / 1024, Totals: totals})
}

func run() error {
	if len(os.Args) == 3 && os.Args[1] == "jsonl" {
		start := time.Now()
		n, totals, err := sumLines(os.Args[2])
		if err != nil {
			return err
		}
		return report(n, time.Since(start).Seconds(), totals)
	}
	if len(os.Args) != 3 || (os.Args[1] != "changes" && os.Args[1] != "events") {
		return errors.New("usage: foldceiling changes|events|jsonl FILE")
	}
	b, err := os.ReadFile(os.Args[2])
	if err != nil {
		return err
	}
	records, err := parse(b)
	if err != nil {
		return fmt.Errorf("%s: %w", os.Args[2], err)
	}
	b = nil // the strings are copies: the file's bytes can go before the timed loop
	fold := foldChanges
	if os.Args[1] == "events" {
		fold = foldEvents
	}
	start := time.Now()
	n, totals := fold(records)
	return report(n, time.Since(start).Seconds(), totals)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "foldceiling:", err)
		os.Exit(1)
	}
}
