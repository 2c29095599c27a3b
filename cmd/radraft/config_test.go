package main

import (
	"flag"
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
