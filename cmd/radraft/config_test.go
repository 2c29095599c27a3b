package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Bad SR settings are refused at start with a message naming the flag.
func TestSRConfigValidated(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // "" = valid
	}{
		{nil, ""},
		{[]string{"--sr-destinations", "PACS@10.0.0.5:104,ARCH@pacs.local:11112", "--sr-drafts", "true"}, ""},
		{[]string{"--sr-destinations", "PACS@10.0.0.5"}, "--sr-destinations"},
		{[]string{"--sr-destinations", "10.0.0.5:104"}, "--sr-destinations"},
		{[]string{"--sr-drafts", "sometimes"}, "--sr-drafts"},
	} {
		cfg := &config{}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		cfg.bind(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		err := cfg.validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v", c.args, err)
		}
	}
}

// A setting that does not parse, or is out of range, stops the start with a
// message naming it; it never becomes a silent default.
func TestBadSettingsRefused(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"RADRAFT_MAX_ASSOCIATIONS": "thirty"}, nil, "RADRAFT_MAX_ASSOCIATIONS"},
		{map[string]string{"RADRAFT_SETTLE_QUIET": "15"}, nil, "RADRAFT_SETTLE_QUIET"},
		{map[string]string{"RADRAFT_ORDER_WAIT": "2 minutes"}, nil, "RADRAFT_ORDER_WAIT"},
		{nil, []string{"--max-associations", "0"}, "--max-associations"},
		{nil, []string{"--dicom-artim", "0s"}, "--dicom-artim"},
		{nil, []string{"--max-pdu-length", "10"}, "--max-pdu-length"},
		{nil, []string{"--order-wait", "-1s"}, "--order-wait"},
		{map[string]string{"RADRAFT_MAX_ASSOCIATIONS": " 8 "}, nil, ""},
		{nil, []string{"--hl7-unsolicited", "maybe"}, "--hl7-unsolicited"},
		{nil, []string{"--mllp-message-timeout", "0s"}, "--mllp-message-timeout"},
		{nil, []string{"--mllp-max-conns", "0"}, "--mllp-max-conns"},
		{nil, []string{"--job-rescue-after", "5m"}, "--job-rescue-after"},
		{nil, []string{"--draft-timeout", "20m", "--job-rescue-after", "15m"}, "--job-rescue-after"},
		{nil, []string{"--draft-timeout", "20m", "--job-rescue-after", "25m", "--node-id", "gpu-1"}, ""},
		{nil, []string{"--node-id", "two words"}, "--node-id"},
		{nil, []string{"--device", "cuda0"}, "--device"},
		{nil, []string{"--device", "cuda:1"}, ""},
		{nil, []string{"--dicom-addr", "11112"}, "--dicom-addr"},
		{nil, []string{"--http-addr", ":99999"}, "--http-addr"},
		{nil, []string{"--mllp-addr", ""}, ""},
		{nil, []string{"--ris-addr", ":2575"}, "--ris-addr"},
		{nil, []string{"--ris-addr", "ris.local:2575"}, ""},
		{nil, []string{"--ae-title", "A_TITLE_LONGER_THAN_16"}, "--ae-title"},
		{nil, []string{"--allowed-calling-aets", "PACS,BAD\\AE"}, "--allowed-calling-aets"},
		{nil, []string{"--accession-fields", "OBR-99x"}, "--accession-fields"},
		{nil, []string{"--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"}, "--tls-cert"},
		{nil, []string{"--judge-url", "http://judge.local/v1"}, "--judge-url"},
		{nil, []string{"--dicom-transfer-syntaxes", "1.2.3"}, "--dicom-transfer-syntaxes"},
		{nil, []string{"--dicom-max-pending", "0"}, "--dicom-max-pending"},
		{nil, []string{"--session-idle", "10s"}, "--session-idle"},
	} {
		for k, v := range c.env {
			t.Setenv(k, v)
		}
		cfg := &config{}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		cfg.bind(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		err := cfg.validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: %v", c.env, c.args, err)
		}
		for k := range c.env {
			t.Setenv(k, "") // restored by t.Setenv's cleanup; blank for the next case
			os.Unsetenv(k)
		}
	}
}

// serveSettings returns the RADRAFT_* variables `radraft serve -h` lists.
func serveSettings(t *testing.T) []string {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c config
	c.bind(fs)
	env := regexp.MustCompile(`\((RADRAFT_[A-Z0-9_]+)\)$`)
	var out []string
	fs.VisitAll(func(f *flag.Flag) {
		// flag.PrintDefaults reads a back-quoted word as the value's name
		// ("-ort-lib radraft model runtime"): usages must not hold one.
		if strings.Contains(f.Usage, "`") {
			t.Errorf("-%s: a backquote in the usage garbles serve -h: %q", f.Name, f.Usage)
		}
		m := env.FindStringSubmatch(f.Usage)
		if m == nil {
			t.Errorf("-%s does not name its environment variable: %q", f.Name, f.Usage)
			return
		}
		out = append(out, m[1])
	})
	sort.Strings(out)
	return out
}

// readmeSettings returns the RADRAFT_* variables of README's configuration
// table; "`RADRAFT_JUDGE_URL` / `_MODEL`" rows name several.
func readmeSettings(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `RADRAFT_") {
			continue
		}
		first := strings.Split(line, "|")[1]
		prefix := ""
		for _, name := range regexp.MustCompile("`([A-Z0-9_]+)`").FindAllStringSubmatch(first, -1) {
			n := name[1]
			if strings.HasPrefix(n, "RADRAFT_") {
				prefix = n[:strings.LastIndex(n, "_")]
			} else {
				n = prefix + n
			}
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func TestREADMEListsEverySetting(t *testing.T) {
	flags, readme := serveSettings(t), readmeSettings(t)
	if len(flags) < 20 {
		t.Fatalf("only %d settings found in serve's flags", len(flags))
	}
	in := func(list []string, s string) bool {
		i := sort.SearchStrings(list, s)
		return i < len(list) && list[i] == s
	}
	for _, f := range flags {
		if !in(readme, f) {
			t.Errorf("README's configuration table lacks %s (serve -h lists it)", f)
		}
	}
	for _, r := range readme {
		if !in(flags, r) {
			t.Errorf("README's configuration table lists %s, which serve does not have", r)
		}
	}
}

// The default node ID follows the parsed --role, so an api and a worker
// process on one host get different IDs (the second would not start).
func TestDefaultNodeIDFollowsRoleFlag(t *testing.T) {
	t.Setenv("RADRAFT_ROLE", "")
	os.Unsetenv("RADRAFT_ROLE")
	t.Setenv("RADRAFT_NODE_ID", "")
	os.Unsetenv("RADRAFT_NODE_ID")
	ids := map[string]bool{}
	for _, role := range []string{"api", "worker"} {
		cfg := &config{}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		cfg.bind(fs)
		if err := fs.Parse([]string{"--role", role}); err != nil {
			t.Fatal(err)
		}
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(cfg.NodeID, "-"+role) {
			t.Errorf("--role=%s: node ID %q", role, cfg.NodeID)
		}
		ids[cfg.NodeID] = true
	}
	if len(ids) != 2 {
		t.Fatalf("api and worker share a node ID: %v", ids)
	}
}
