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
	"slices"
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
	globals, args, err := takeGlobals(args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		usage(stderr)
		return errors.New("no command")
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	cmd := c.new(stdout, stderr)
	if err := cmd.ParseFlags(withGlobals(globals, args[1:])); err != nil {
		return err
	}
	runErr := cmd.Run(ctx)
	closeErr := cmd.Close()
	if runErr != nil {
		return runErr
	}
	return closeErr
}

// globalFlags may come before the command (`rpbus --nats URL scope
// single`): the connection's flags and the board, which every networked
// command takes.
var globalFlags = []string{"nats", "user", "password", "token", "creds", "nkey", "board"}

// takeGlobals takes the flags before the command off args.
func takeGlobals(args []string) (globals, rest []string, err error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !slices.Contains(globalFlags, name) {
			return nil, nil, usageError{fmt.Sprintf("rpbus: %s before the command: only --%s may come first; the command's own flags follow it", args[0], strings.Join(globalFlags, ", --"))}
		}
		if !hasValue {
			if len(args) < 2 {
				return nil, nil, usageError{fmt.Sprintf("rpbus: %s needs a value", args[0])}
			}
			value, args = args[1], args[1:]
		}
		globals = append(globals, "--"+name+"="+value)
		args = args[1:]
	}
	return globals, args, nil
}

// verbs are the words that follow a command before its flags (scope
// single, bench hw, curves ls); anything else there is a positional
// argument (watch SUBJECT), after the flags.
var verbs = []string{"single", "hw", "scope", "ls", "get", "rm", "tag"}

// withGlobals puts the global flags after the command's verb, where its
// flag set reads them, or first.
func withGlobals(globals, args []string) []string {
	if len(globals) == 0 {
		return args
	}
	if len(args) > 0 && slices.Contains(verbs, args[0]) {
		return append(append([]string{args[0]}, globals...), args[1:]...)
	}
	return append(append([]string(nil), globals...), args...)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: rpbus [--nats URL] [credentials] <command> [flags]\n\ncommands:")
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
