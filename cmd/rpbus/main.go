package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/rpbus/rpbus/svc"
)

// command is one subcommand: ParseFlags, then Run until ctx ends, then Close.
type command interface {
	ParseFlags(args []string) error
	Run(ctx context.Context) error
	Close() error
}

// commands maps subcommand names to constructors and one-line help.
var commands = map[string]struct {
	new  func(stdout, stderr io.Writer) command
	help string
}{}

func register(name, help string, new func(stdout, stderr io.Writer) command) {
	commands[name] = struct {
		new  func(stdout, stderr io.Writer) command
		help string
	}{new, help}
}

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(svc.GCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "rpbus:", err)
		}
		os.Exit(exitCode(err))
	}
}

// Main runs one subcommand; tests call it directly.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("no command")
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	cmd := c.new(stdout, stderr)
	if err := cmd.ParseFlags(args[1:]); err != nil {
		return err
	}
	runErr := cmd.Run(ctx)
	closeErr := cmd.Close()
	if runErr != nil {
		return runErr
	}
	return closeErr
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: rpbus <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].help)
	}
	fmt.Fprintln(w, "\nrpbus <command> -h lists a command's flags; every flag has an environment fallback RPBUS_<FLAG>.")
}

// parseWithEnv parses args and then fills every flag not given on the
// command line from RPBUS_<NAME> (upper case, dashes as underscores).
// aliases map a flag name to extra environment names it also reads.
func parseWithEnv(fs *flag.FlagSet, args []string, aliases map[string][]string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		names := append([]string{envName(f.Name)}, aliases[f.Name]...)
		for _, env := range names {
			if v, ok := os.LookupEnv(env); ok {
				if e := fs.Set(f.Name, v); e != nil {
					err = fmt.Errorf("%s=%q: %v", env, v, e)
				}
				return
			}
		}
	})
	return err
}

func envName(flagName string) string {
	return "RPBUS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// exitCode maps errors to exit codes: 2 for usage errors, 1 otherwise.
func exitCode(err error) int {
	var ue usageError
	if errors.Is(err, flag.ErrHelp) || errors.As(err, &ue) {
		return 2
	}
	return 1
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
