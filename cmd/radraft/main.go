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
	"sort"
	"syscall"
)

// commands maps a subcommand to its entry point; each file of this package
// that adds a subcommand registers it in an init function.
var commands = map[string]struct {
	summary string
	run     func(ctx context.Context, args []string) error
}{}

func register(name, summary string, run func(ctx context.Context, args []string) error) {
	commands[name] = struct {
		summary string
		run     func(ctx context.Context, args []string) error
	}{summary, run}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: radraft <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nrun `radraft <command> -h` for its flags")
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
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
