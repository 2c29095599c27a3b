// Command hl7 benchmarks radraft's MLLP order intake: ACKed orders per
// second over several connections, each order committed to Postgres before
// its ACK, against two references measured in the same run on the same
// machine and database server:
//
//   - pg: a raw Postgres loop, one INSERT of the same message bytes and a
//     COMMIT per row, over the same number of connections: the ceiling for
//     anything that makes each message durable on its own;
//   - mllp_send (when installed): python-hl7's command-line client sending
//     the same kind of messages to our server, one process per connection
//     (its own per-message cost included).
//
// Usage (see README.md):
//
//	go run ./bench/hl7 -conns 8 -messages 2000 -runs 5
//
// It creates a scratch database on the server named by -admin (default
// $RADRAFT_TEST_DATABASE_URL, else postgres://127.0.0.1:5432/postgres) and
// drops it at the end.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/hl7"
)

func main() {
	admin := flag.String("admin", envOr("RADRAFT_TEST_DATABASE_URL", "postgres://127.0.0.1:5432/postgres?sslmode=disable"), "Postgres server to create the scratch database on")
	conns := flag.Int("conns", 8, "concurrent MLLP connections (and Postgres connections for the reference)")
	messages := flag.Int("messages", 2000, "orders per run")
	runs := flag.Int("runs", 5, "runs of each measurement (medians reported)")
	peer := flag.Bool("mllp-send", true, "also measure python-hl7's mllp_send against our server, when installed")
	flag.Parse()
	if err := run(*admin, *conns, *messages, *runs, *peer); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(admin string, conns, messages, runs int, peer bool) error {
	ctx := context.Background()
	dbURL, drop, err := scratchDB(ctx, admin)
	if err != nil {
		return err
	}
	defer drop()
	// Enough pool connections for every sender.
	store, err := drafts.Open(ctx, dbURL+"&pool_max_conns="+strconv.Itoa(conns+4), true)
	if err != nil {
		return err
	}
	defer store.Close()
	// The baseline's own pool (the store keeps its pool to itself).
	pool, err := pgxpool.New(ctx, dbURL+"&pool_max_conns="+strconv.Itoa(conns+4))
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_raw (id bigserial PRIMARY KEY, control_id text NOT NULL, raw bytea NOT NULL, at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &hl7.Server{Handler: &hl7.OrderHandler{Store: store, Log: quiet}, Log: quiet, MaxConns: conns + 16}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)        //nolint:errcheck
	defer srv.Shutdown(ctx) //nolint:errcheck
	addr := ln.Addr().String()

	var mllpSend string
	if peer {
		mllpSend, _ = exec.LookPath("mllp_send")
	}
	var sc, pg, ms []float64
	for r := 0; r < runs; r++ {
		tag := fmt.Sprintf("r%d", r)
		rate, err := benchMLLP(ctx, addr, conns, messages, tag)
		if err != nil {
			return fmt.Errorf("mllp run %d: %w", r, err)
		}
		sc = append(sc, rate)
		prate, err := benchPG(ctx, pool, conns, messages, tag)
		if err != nil {
			return fmt.Errorf("pg run %d: %w", r, err)
		}
		pg = append(pg, prate)
		line := fmt.Sprintf("run %d: radraft MLLP %7.0f orders/s   raw pg insert+commit %7.0f rows/s", r+1, rate, prate)
		if mllpSend != "" {
			mrate, err := benchMLLPSend(ctx, mllpSend, addr, conns, messages, tag)
			if err != nil {
				return fmt.Errorf("mllp_send run %d: %w", r, err)
			}
			ms = append(ms, mrate)
			line += fmt.Sprintf("   mllp_send->radraft %7.0f orders/s", mrate)
		}
		fmt.Println(line)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&n); err != nil {
		return err
	}
	fmt.Printf("\n%d connections, %d orders per run, %d runs; %d orders stored in all\n", conns, messages, runs, n)
	fmt.Printf("median radraft MLLP (Go client):   %8.0f ACKed orders/s\n", median(sc))
	fmt.Printf("median raw Postgres insert+commit: %8.0f rows/s\n", median(pg))
	fmt.Printf("ratio radraft / raw Postgres:      %8.2f\n", median(sc)/median(pg))
	if len(ms) > 0 {
		fmt.Printf("median mllp_send -> radraft:       %8.0f ACKed orders/s (one python process per connection)\n", median(ms))
	}
	return nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// orderMsg is a realistic ORM^O01 (about 600 bytes) with a unique control ID
// and accession.
func orderMsg(ctrl string) []byte {
	return []byte("MSH|^~\\&|RIS|GENHOSP|RADRAFT|GENHOSP|20260127083012||ORM^O01|" + ctrl + "|P|2.3\r" +
		"PID|1||MRN12345^^^GENHOSP^MR~998877^^^SSA^SS||DOE^JOHN^Q^JR^MR||19550412|M|||12 MAIN ST^^SPRINGFIELD^IL^62701\r" +
		"PV1|1|O|XR^^^GENHOSP||||1234^SMITH^ANNA^^^DR|||||||||||V0001\r" +
		"ORC|NW|PL-" + ctrl + "^RIS|||SC||^^^20260127083000^^R||20260127083012|||1234^SMITH^ANNA^^^DR\r" +
		"OBR|1|PL-" + ctrl + "^RIS||71046^XR CHEST 2 VIEWS^CPT4|||20260127083000|||||||||1234^SMITH^ANNA^^^DR||ACC-" + ctrl +
		"||||||CR|||^^^20260127083000^^R||||R05^Cough^I10^^^^^^Productive cough for 3 days, fever\r" +
		"ZDS|1.2.826.0.1.3680043.8.498." + uidPart(ctrl) + "^RIS^Application^DICOM\r")
}

// uidPart makes a UID component (digits) unique to the control ID.
func uidPart(ctrl string) string {
	var b strings.Builder
	for _, r := range ctrl {
		b.WriteString(strconv.Itoa(int(r)))
	}
	return b.String()
}

func split(total, parts, i int) int {
	n := total / parts
	if i < total%parts {
		n++
	}
	return n
}

// rate runs conns workers at once, worker c sending its share n of the
// messages, and returns messages per second of wall time (the first error
// any worker returns is returned instead).
func rate(conns, messages int, worker func(c, n int) error) (float64, error) {
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start := time.Now()
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			if err := worker(c, split(messages, conns, c)); err != nil {
				errs <- err
			}
		}(c)
	}
	wg.Wait()
	el := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(messages) / el.Seconds(), nil
}

func benchMLLP(ctx context.Context, addr string, conns, messages int, tag string) (float64, error) {
	return rate(conns, messages, func(c, n int) error {
		cl := &hl7.Client{Addr: addr}
		defer cl.Close()
		for j := 0; j < n; j++ {
			if _, err := cl.Send(ctx, orderMsg(fmt.Sprintf("G%s-%d-%d", tag, c, j))); err != nil {
				return err
			}
		}
		return nil
	})
}

func benchPG(ctx context.Context, pool *pgxpool.Pool, conns, messages int, tag string) (float64, error) {
	return rate(conns, messages, func(c, n int) error {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		for j := 0; j < n; j++ {
			ctrl := fmt.Sprintf("P%s-%d-%d", tag, c, j)
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO bench_raw (control_id, raw) VALUES ($1, $2)`, ctrl, orderMsg(ctrl))
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func benchMLLPSend(ctx context.Context, prog, addr string, conns, messages int, tag string) (float64, error) {
	host, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "hl7bench")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	var files []string
	for c := 0; c < conns; c++ {
		var b bytes.Buffer
		for j := 0; j < split(messages, conns, c); j++ {
			hl7.WriteFrame(&b, orderMsg(fmt.Sprintf("M%s-%d-%d", tag, c, j))) //nolint:errcheck
		}
		p := filepath.Join(dir, fmt.Sprintf("c%d.mllp", c))
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			return 0, err
		}
		files = append(files, p)
	}
	// The files are written off the clock; each worker only runs mllp_send.
	return rate(conns, messages, func(c, _ int) error {
		f := files[c]
		out, err := exec.CommandContext(ctx, prog, "-p", port, "-f", f, host).Output()
		if err != nil {
			return fmt.Errorf("%v", err)
		}
		if n := strings.Count(string(out), "MSA|AA|"); n != bytes.Count(mustRead(f), []byte{hl7.StartBlock}) {
			return fmt.Errorf("mllp_send got %d AA", n)
		}
		return nil
	})
}

func mustRead(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

func scratchDB(ctx context.Context, admin string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("no Postgres at %s: %w", admin, err)
	}
	defer conn.Close(ctx)
	name := "radraft_bench_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	drop := func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
	}
	return u.String(), drop, nil
}
