// Command radraft is the one binary of radraft: `serve` runs the DICOM, HL7
// and HTTP listeners and the workers; the other subcommands administer it.
// This package only wires packages together; the logic lives in them.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

// commands is every subcommand, in the order usage lists them.
var commands = []command{
	{"serve", "run the DICOM, HL7 and HTTP listeners and the workers", runServe},
	{"migrate", "apply the database schema and exit", runMigrate},
	{"user", "manage users: add, passwd, token, list", runUser},
	{"model", "model tools: `model runtime` finds/fetches libonnxruntime; `model check` validates a bundle (--reference: re-runs its references); `model render` writes a DICOM's model input; `model tokenize` prints token ids", runModel},
	{"draft", "draft the findings of one DICOM file and print JSON with per-stage timings", runDraft},
	{"eval", "score report pairs (JSON lines) with CheXprompt; with human counts, print agreement", runEval},
	{"healthcheck", "probe a running server's health URL (for container healthchecks)", runHealthcheck},
}

func findCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: radraft <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(os.Stderr, "\nrun `radraft <command> -h` for its flags")
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	cmd, ok := findCommand(os.Args[1])
	if !ok {
		fmt.Fprintf(os.Stderr, "radraft: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, os.Args[2:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "radraft %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
