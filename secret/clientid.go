package secret

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"
)

// Client id suffixes.
const (
	SuffixConnector = "ccc" // connector client credential
	SuffixPersonal  = "pcc" // personal client credential (admin)
)

// MaxClientIDLen bounds the client ids ParseClientID accepts.
const MaxClientIDLen = 512

// ClientID is a parsed "<cutename>@<host[:port]>/<suffix>".
type ClientID struct {
	Name   string
	Host   string
	Suffix string
}

// String writes the client id.
func (c ClientID) String() string { return c.Name + "@" + c.Host + "/" + c.Suffix }

// ErrBadClientID is wrapped by every ParseClientID error.
var ErrBadClientID = errors.New("malformed client id")

// ParseClientID splits a client id as ConductorOne's clients do (at the first
// "@", then at the first "/") and requires all three parts. It also refuses
// what no conncred client id contains: more than MaxClientIDLen bytes,
// invalid UTF-8, whitespace or control characters.
func ParseClientID(s string) (ClientID, error) {
	if len(s) > MaxClientIDLen {
		return ClientID{}, fmt.Errorf("%w: longer than %d bytes", ErrBadClientID, MaxClientIDLen)
	}
	if !utf8.ValidString(s) {
		return ClientID{}, fmt.Errorf("%w: not valid UTF-8", ErrBadClientID)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return ClientID{}, fmt.Errorf("%w: contains whitespace or a control character", ErrBadClientID)
		}
	}
	name, rest, ok := strings.Cut(s, "@")
	if !ok || name == "" {
		return ClientID{}, fmt.Errorf("%w: want <name>@<host>/<suffix>", ErrBadClientID)
	}
	host, suffix, ok := strings.Cut(rest, "/")
	if !ok || host == "" || suffix == "" {
		return ClientID{}, fmt.Errorf("%w: want <name>@<host>/<suffix>", ErrBadClientID)
	}
	return ClientID{Name: name, Host: host, Suffix: suffix}, nil
}

// NewClientID returns a client id with a fresh cutename for host and suffix.
// Cutenames are random, not guaranteed unique: the store's unique index is
// the guarantee, and callers retry on a conflict.
func NewClientID(host, suffix string) (ClientID, error) {
	name, err := Cutename()
	if err != nil {
		return ClientID{}, err
	}
	return ClientID{Name: name, Host: host, Suffix: suffix}, nil
}

// Cutename returns a random "adjective-noun-NNNNN" name, such as
// "brave-falcon-40213": about 2^26 possibilities.
func Cutename() (string, error) {
	a, err := pick(len(adjectives))
	if err != nil {
		return "", err
	}
	n, err := pick(len(nouns))
	if err != nil {
		return "", err
	}
	num, err := pick(90000)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s-%s-%05d", adjectives[a], nouns[n], 10000+num), nil
}

func pick(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("secret: random: %w", err)
	}
	return int(v.Int64()), nil
}

var adjectives = []string{
	"able", "agile", "amber", "ancient", "bold", "brave", "bright", "brisk", "calm", "candid",
	"clever", "cosmic", "crisp", "daring", "deft", "eager", "early", "earnest", "fair", "fancy",
	"fearless", "fleet", "fond", "gentle", "gilded", "glad", "golden", "grand", "happy", "hardy",
	"honest", "humble", "jolly", "keen", "kind", "lively", "loyal", "lucid", "lucky", "merry",
	"mighty", "misty", "modest", "noble", "nimble", "patient", "plucky", "polite", "proud", "quick",
	"quiet", "radiant", "rapid", "ready", "regal", "robust", "rosy", "rustic", "sage", "serene",
	"sharp", "shiny", "silent", "silver", "sleek", "smart", "snowy", "solid", "spry", "steady",
	"stellar", "sturdy", "sunny", "swift", "tidy", "tranquil", "trusty", "vivid", "warm", "wise",
}

var nouns = []string{
	"albatross", "antelope", "badger", "bear", "beaver", "bison", "bobcat", "condor", "cougar", "coyote",
	"crane", "dolphin", "dove", "eagle", "egret", "elk", "falcon", "ferret", "finch", "fox",
	"gazelle", "gecko", "gibbon", "goose", "hare", "hawk", "heron", "ibis", "jaguar", "jay",
	"kestrel", "kite", "koala", "lark", "lemur", "leopard", "lion", "lynx", "magpie", "marmot",
	"marten", "mole", "moose", "newt", "ocelot", "orca", "osprey", "otter", "owl", "panda",
	"panther", "pelican", "penguin", "petrel", "pika", "plover", "puffin", "quail", "raven", "robin",
	"salmon", "seal", "shrike", "sparrow", "stork", "swan", "swift", "tapir", "tern", "tiger",
	"toucan", "trout", "turtle", "viper", "walrus", "weasel", "whale", "wolf", "wren", "yak",
}
