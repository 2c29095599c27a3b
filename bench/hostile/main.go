// Command hostile runs the non-DICOM attacks of issue 10 against a running
// radraft (HL7 MLLP and HTTP) and prints each answer, the server's peak RSS
// around the login storm, and whether HL7 and HTTP still answer afterwards.
// run.sh starts a radraft binary on a fresh database and calls it; run it
// once with main's binary and once with a branch's to compare.
//
//	go run ./bench/hostile -mllp 127.0.0.1:2575 -http 127.0.0.1:8080 -pid 1234 \
//	    -user rad1 -password '...' -study 1.2.3 -db-drop-cmd 'psql ...'
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/radraft/radraft/hl7"
)

var (
	mllpAddr  = flag.String("mllp", "127.0.0.1:2575", "MLLP address")
	httpAddr  = flag.String("http", "127.0.0.1:8080", "HTTP address")
	pid       = flag.Int("pid", 0, "server process id (for RSS)")
	user      = flag.String("user", "", "an existing radiologist")
	password  = flag.String("password", "", "its password")
	study     = flag.String("study", "", "a study UID with an unsigned AI draft")
	trickle   = flag.Duration("trickle", 45*time.Second, "how long to trickle a frame before giving up")
	idleConns = flag.Int("idle-conns", 256, "idle MLLP connections to open (the server's cap)")
	dropCmd   = flag.String("db-drop-cmd", "", "shell command that makes the database unreachable (run last)")
)

func row(attack, answer string) { fmt.Printf("| %s | %s |\n", attack, answer) }

func order(ctrl string) []byte {
	ts := time.Now().UTC().Format("20060102150405")
	return []byte(strings.Join([]string{
		"MSH|^~\\&|RIS|HOSP|RADRAFT|HOSP|" + ts + "||ORM^O01|" + ctrl + "|P|2.3",
		"PID|1||MRN-" + ctrl + "^^^HOSP^MR||DOE^JOHN||19600101|M",
		"ORC|NW|P-" + ctrl + "|F-" + ctrl,
		"OBR|1|P-" + ctrl + "|F-" + ctrl + "|71045^XR CHEST^CPT4|||" + ts + strings.Repeat("|", 11) + "ACC-" + ctrl,
	}, "\r") + "\r")
}

// readAck reads one MLLP answer within d; "" and the error when none came.
func readAck(c net.Conn, d time.Duration) (string, error) {
	c.SetReadDeadline(time.Now().Add(d)) //nolint:errcheck
	msg, err := hl7.ReadFrame(bufio.NewReader(c), 1<<20)
	if err != nil {
		return "", err
	}
	m, err := hl7.Parse(msg)
	if err != nil {
		return "unparseable answer", nil
	}
	msa := m.Segment("MSA")
	return fmt.Sprintf("%s (%s)", msa.Get(1, 1), msa.Get(3, 1)), nil
}

func sendRaw(b []byte, wait time.Duration) string {
	c, err := net.DialTimeout("tcp", *mllpAddr, 5*time.Second)
	if err != nil {
		return "connect: " + err.Error()
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(time.Minute)) //nolint:errcheck
	if _, err := c.Write(b); err != nil {
		return "write: " + err.Error()
	}
	ack, err := readAck(c, wait)
	if err != nil {
		return "no answer: " + err.Error()
	}
	return ack
}

func frame(msg []byte) []byte {
	return append(append([]byte{hl7.StartBlock}, msg...), hl7.EndBlock, hl7.CarriageR)
}

func goodOrder(tag string) string {
	return sendRaw(frame(order(tag)), 10*time.Second)
}

func hl7Attacks() {
	row("HL7 ADT^A08 on the order feed", sendRaw(frame([]byte("MSH|^~\\&|ADT|HOSP|RADRAFT|HOSP|20260101000000||ADT^A08|ADT1|P|2.3\rPID|1||X^^^H^MR||DOE^JOHN\r")), 10*time.Second))
	row("HL7 malformed (no MSH)", sendRaw(frame([]byte("garbage\r")), 10*time.Second))

	// 100 MB frame.
	big := make([]byte, 0, 100<<20+1024)
	big = append(big, hl7.StartBlock)
	big = append(big, order("BIG1")...)
	big = append(big, []byte("NTE|1||")...)
	for len(big) < 100<<20 {
		big = append(big, 'A')
	}
	big = append(big, '\r', hl7.EndBlock, hl7.CarriageR)
	row("HL7 100 MB frame", sendRaw(big, 60*time.Second))

	// A frame trickled one byte every 500 ms.
	func() {
		c, err := net.Dial("tcp", *mllpAddr)
		if err != nil {
			row("HL7 trickled frame", err.Error())
			return
		}
		defer c.Close()
		msg := frame(order("TRICKLE"))
		start := time.Now()
		for i := 0; time.Since(start) < *trickle; i++ {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
			if _, err := c.Write(msg[i%(len(msg)-2) : i%(len(msg)-2)+1]); err != nil {
				row("HL7 trickled frame (1 byte / 500 ms)", fmt.Sprintf("closed by the server after %.0f s", time.Since(start).Seconds()))
				return
			}
			// A closed connection shows on the next read.
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond)) //nolint:errcheck
			var b [1]byte
			if _, err := c.Read(b[:]); err != nil {
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					row("HL7 trickled frame (1 byte / 500 ms)", fmt.Sprintf("closed by the server after %.0f s", time.Since(start).Seconds()))
					return
				}
			}
		}
		row("HL7 trickled frame (1 byte / 500 ms)", fmt.Sprintf("still open after %.0f s", time.Since(start).Seconds()))
	}()

	// Idle connections up to the cap, then a real sender.
	var conns []net.Conn
	for i := 0; i < *idleConns; i++ {
		c, err := net.Dial("tcp", *mllpAddr)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond)
	row(fmt.Sprintf("HL7 order after %d idle connections", len(conns)), goodOrder("AFTERIDLE"))
	for _, c := range conns {
		c.Close()
	}
}

type httpClient struct {
	hc   *http.Client
	csrf string
}

func (h *httpClient) do(method, path, ctype string, body []byte) (int, string, http.Header) {
	req, _ := http.NewRequest(method, "http://"+*httpAddr+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if h.csrf != "" {
		req.Header.Set("X-CSRF-Token", h.csrf)
	}
	req.Header.Set("If-Match", `"v1"`)
	resp, err := h.hc.Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

func newClient() *httpClient { return newClientFrom(nil) }

// newClientFrom connects from a given loopback address (nil: any), so that
// each storm has a login budget of its own, or each request an address.
func newClientFrom(ip net.IP) *httpClient {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 5 * time.Second}
	if ip != nil {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	tr := &http.Transport{DialContext: d.DialContext}
	return &httpClient{hc: &http.Client{Jar: jar, Timeout: 2 * time.Minute, Transport: tr}}
}

func loginBody(u, p string) []byte {
	b, _ := json.Marshal(map[string]string{"username": u, "password": p})
	return b
}

func short(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

func rssKiB(field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", *pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			var n int
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, field+":")), "%d", &n)
			return n
		}
	}
	return -1
}

// storm sends n logins at once, the i-th from address ipOf(i); it returns
// the count of each status.
func storm(n int, userOf func(i int) string, ipOf func(i int) net.IP) map[int]int {
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			st, _, _ := newClientFrom(ipOf(i)).do("POST", "/api/v1/auth/login", "application/json", loginBody(userOf(i), "wrong-password-123"))
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}(i)
	}
	close(start)
	wg.Wait()
	return counts
}

func httpAttacks() {
	// A session first: the storms below exhaust this address's login budget.
	s := newClient()
	st, body, _ := s.do("POST", "/api/v1/auth/login", "application/json", loginBody(*user, *password))
	var sess struct {
		CSRFToken string `json:"csrf_token"`
	}
	json.Unmarshal([]byte(body), &sess) //nolint:errcheck
	s.csrf = sess.CSRFToken
	if st != 200 {
		row("login of the test user", fmt.Sprintf("%d %s", st, short(body)))
	}

	_, _, h := newClient().do("GET", "/", "", nil)
	row("GET / security headers", fmt.Sprintf("CSP=%q XCTO=%q Referrer-Policy=%q", h.Get("Content-Security-Policy"),
		h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy")))
	st, body, _ = newClient().do("POST", "/api/v1/auth/login", "text/plain", loginBody(*user, *password))
	row("login with Content-Type: text/plain", fmt.Sprintf("%d %s", st, short(body)))
	st, body, _ = s.do("GET", "/api/v1/worklist?q=%00", "", nil)
	row("GET /worklist?q=%00", fmt.Sprintf("%d %s", st, short(body)))
	st, body, _ = s.do("PUT", "/api/v1/studies/"+*study+"/report", "application/json", []byte(`{"findings":"No effusion.\u0000"}`))
	row("PUT report with \\u0000 in the body", fmt.Sprintf("%d %s", st, short(body)))
	st, body, _ = s.do("PUT", "/api/v1/studies/"+*study+"/report", "application/json", []byte(`{"findings":"   "}`))
	row("PUT report with whitespace only", fmt.Sprintf("%d %s", st, short(body)))

	// 100 parallel logins of unknown users, each from its own address (a
	// distributed attack: no per-address limit applies).
	before := rssKiB("VmHWM")
	t := time.Now()
	c := storm(100, func(i int) string { return fmt.Sprintf("nobody-%d", i) },
		func(i int) net.IP { return net.IPv4(127, 0, 1, byte(i+1)) })
	row("100 parallel unknown-user logins, 100 addresses", fmt.Sprintf("401: %d, 429: %d, other: %d; peak RSS (VmHWM) before %d MiB, after %d MiB; %.1f s",
		c[401], c[429], 100-c[401]-c[429], before/1024, rssKiB("VmHWM")/1024, time.Since(t).Seconds()))

	// 40 parallel wrong passwords for one user from one address (limit 5).
	c = storm(40, func(int) string { return *user }, func(int) net.IP { return net.IPv4(127, 0, 2, 1) })
	row("40 parallel wrong passwords, one user, one address", fmt.Sprintf("401 (hash checked): %d, 429: %d, other: %d", c[401], c[429], 40-c[401]-c[429]))

	// 100 parallel unknown users from one address (limit 30 per address).
	c = storm(100, func(i int) string { return fmt.Sprintf("nobody-%d", i) }, func(int) net.IP { return net.IPv4(127, 0, 3, 1) })
	row("100 parallel unknown-user logins, one address", fmt.Sprintf("401 (hash checked): %d, 429: %d, other: %d; peak RSS %d MiB",
		c[401], c[429], 100-c[401]-c[429], rssKiB("VmHWM")/1024))

	st, _, _ = newClient().do("GET", "/healthz", "", nil)
	st2, _, _ := s.do("GET", "/api/v1/worklist", "", nil)
	row("afterwards: /healthz, worklist with the session, HL7 order", fmt.Sprintf("%d, %d, %s", st, st2, goodOrder("AFTERALL")))

	if *dropCmd != "" {
		out, err := exec.CommandContext(context.Background(), "sh", "-c", *dropCmd).CombinedOutput()
		if err != nil {
			row("making the database unreachable", fmt.Sprintf("%v %s", err, out))
		}
		newClient().do("GET", "/readyz", "", nil) // the pool notices on the first
		st, body, _ = newClient().do("GET", "/readyz", "", nil)
		row("/readyz with the database unreachable", fmt.Sprintf("%d %s", st, short(body)))
	}
}

func main() {
	flag.Parse()
	fmt.Println("| attack | answer |\n|---|---|")
	hl7Attacks()
	httpAttacks()
}
