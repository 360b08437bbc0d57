package main

import (
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envPrefix is the prefix of the environment variables that set flags:
// --max-active-credentials reads CONNCRED_MAX_ACTIVE_CREDENTIALS.
const envPrefix = "CONNCRED_"

// envName returns the environment variable for a flag.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// sourceAnnotation marks a flag whose value came from the environment or
// the config file rather than the command line: an update changes only the
// fields named on its command line, never one a shared file happens to set.
const sourceAnnotation = "conncred-source"

// onCommandLine reports whether fl was given on the command line.
func onCommandLine(fl *pflag.Flag) bool {
	return fl.Changed && fl.Annotations[sourceAnnotation] == nil
}

// notFromSources are flags that neither the environment nor a config file
// sets: they act, they do not configure.
var notFromSources = map[string]bool{"help": true, "version": true, "config": true}

// applyDefaults fills each flag not given on cmd's command line from its
// CONNCRED_<FLAG> variable, else from the --config file, so the order of
// precedence is flag > environment > file > default.
//
// The config file is TOML: it has comments (a config file explains its
// choices), its bare keys may contain dashes so keys are spelled exactly
// as the flags, and its values are typed without YAML's guessing (no
// "no" that means false). One file may serve every command: a key that is
// a flag of some other command is skipped, a key that is no flag at all is
// an error, since it is most likely a typo.
func applyDefaults(cmd *cobra.Command) error {
	fs := cmd.Flags()
	file, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	var ferr error
	fs.VisitAll(func(fl *pflag.Flag) {
		if ferr != nil || fl.Changed || notFromSources[fl.Name] {
			return
		}
		if v, ok := os.LookupEnv(envName(fl.Name)); ok {
			if err := fs.Set(fl.Name, v); err != nil {
				ferr = usagef("%s=%q: %v", envName(fl.Name), v, err)
			}
			mark(fl, "env")
			return
		}
		if v, ok := file.values[fl.Name]; ok {
			if err := fs.Set(fl.Name, v); err != nil {
				ferr = usagef("%s: %s = %s: %v", file.path, fl.Name, v, err)
			}
			mark(fl, "file")
		}
	})
	return ferr
}

// mark records where fl's value came from, beside cobra's own annotations.
func mark(fl *pflag.Flag, source string) {
	if fl.Annotations == nil {
		fl.Annotations = map[string][]string{}
	}
	fl.Annotations[sourceAnnotation] = []string{source}
}

// configFile is a loaded --config file: flag name to value as text.
type configFile struct {
	path   string
	values map[string]string
}

// loadConfig reads the file named by --config or CONNCRED_CONFIG, if any.
func loadConfig(cmd *cobra.Command) (configFile, error) {
	path, _ := cmd.Flags().GetString("config")
	if !cmd.Flags().Changed("config") {
		path = os.Getenv(envName("config"))
	}
	if path == "" {
		return configFile{}, nil
	}
	var raw map[string]any
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		return configFile{}, usagef("reading --config %s: %v", path, err)
	}
	known := allFlagNames(cmd.Root())
	out := configFile{path: path, values: make(map[string]string, len(raw))}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first mistake named is the same every run
	for _, k := range keys {
		if notFromSources[k] || !known[k] {
			return configFile{}, usagef("%s: unknown key %q: keys are flag names without the dashes, such as server or data-dir (see conncred <command> --help)", path, k)
		}
		switch v := raw[k].(type) {
		case string:
			out.values[k] = v
		case bool:
			out.values[k] = strconv.FormatBool(v)
		case int64:
			out.values[k] = strconv.FormatInt(v, 10)
		case float64:
			out.values[k] = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return configFile{}, usagef("%s: key %q: want a string, number or boolean, as the flag takes (durations as strings: \"720h\")", path, k)
		}
	}
	return out, nil
}

// allFlagNames is the set of flag names of every command in the tree.
func allFlagNames(root *cobra.Command) map[string]bool {
	names := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(fl *pflag.Flag) { names[fl.Name] = true }
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return names
}

// newFlagSet makes a flag set outside the command tree, for code (and
// tests) that configure from flags directly, as `serveConfig.flags` does.
// usage is ignored: such a set has no help of its own.
func newFlagSet(name, usage string, w io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}

// parse parses args into fs over the environment: flag > env > default.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err: err}
	}
	var err error
	fs.VisitAll(func(fl *pflag.Flag) {
		if err != nil || fl.Changed || notFromSources[fl.Name] {
			return
		}
		if v, ok := os.LookupEnv(envName(fl.Name)); ok {
			if serr := fs.Set(fl.Name, v); serr != nil {
				err = usagef("%s=%q: %v", envName(fl.Name), v, serr)
			}
			mark(fl, "env")
		}
	})
	return err
}

// configExample shows the config file format in serve --help.
const configExample = `  # conncred.toml: keys are flag names; a flag or CONNCRED_<FLAG> wins over them.
  data-dir = "/var/lib/conncred"
  public-host = "c1.example.lan:8443"
  token-ttl = "30m"
  max-active-credentials = 5
`
