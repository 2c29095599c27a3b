// Command dicomhostile replays issue 10's attacks on a running radraft DICOM
// listener and prints, for each, the answer, whether a real echoscu still
// succeeds right after, and the server's peak RSS (VmHWM) when -pid is given.
//
//	go run ./bench/dicomhostile -addr 127.0.0.1:11112 -pid $(pgrep -n radraft)
//
// It is how the before/after table of docs (notes) was measured; the same
// attacks run in CI through dicom/scp's TestHostileCorpusRealBinary.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/radraft/radraft/dicom/scp/scptest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:11112", "radraft DICOM address")
	pid := flag.Int("pid", 0, "radraft's process id, to read VmHWM")
	trickle := flag.Int("trickle", 80, "trickle connections to open")
	wait := flag.Duration("trickle-wait", 40*time.Second, "second echo this long after the trickle starts (past ARTIM)")
	only := flag.String("only", "", "run only this attack (a name, or trickle)")
	flag.Parse()
	host, port, _ := strings.Cut(*addr, ":")
	echo := func() string {
		out, err := exec.Command("echoscu", "-to", "10", "-aec", "RADRAFT", host, port).CombinedOutput()
		if err != nil {
			return "FAIL (" + strings.TrimSpace(lastLine(string(out))) + ")"
		}
		return "ok"
	}
	fmt.Printf("| attack | answer | expected | echoscu after | VmHWM |\n|---|---|---|---|---|\n")
	for _, a := range scptest.Attacks(func() string { return scptest.NewUID(60) }) {
		if *only != "" && *only != a.Name {
			continue
		}
		got, err := scptest.Exchange(*addr, a.Bytes, false, 30*time.Second)
		ans := strings.Join(got, " ")
		if err != nil {
			ans = "error: " + err.Error()
		}
		if ans == "" {
			ans = "(closed, nothing sent)"
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", a.Name, ans, strings.Join(a.Expect, " "), echo(), hwm(*pid))
	}
	if *only != "" && *only != "trickle" {
		return
	}
	stop, err := scptest.Trickle(*addr, *trickle, 500*time.Millisecond)
	if err != nil {
		fmt.Printf("| trickle x%d | cannot open: %v | | %s | %s |\n", *trickle, err, echo(), hwm(*pid))
		return
	}
	time.Sleep(3 * time.Second)
	first := echo()
	time.Sleep(*wait - 3*time.Second)
	second := echo()
	stop()
	fmt.Printf("| trickle x%d | echo at 3 s: %s; at %s: %s | echo ok at both | | %s |\n", *trickle, first, *wait, second, hwm(*pid))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func hwm(pid int) string {
	if pid == 0 {
		return "-"
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "process gone"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}
