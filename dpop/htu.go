package dpop

import (
	"errors"
	"net/url"
	"strings"
)

// NormalizeHTU returns u as RFC 9449 §4.3 compares an htu with the request's
// URI: the query and fragment dropped, then RFC 3986 §6.2.2 syntax-based
// normalization (scheme and host in lower case, percent-encodings in upper
// case and decoded where they encode an unreserved character, dot segments
// removed) and §6.2.3 scheme-based normalization (the scheme's default port
// dropped, an empty path read as "/"). Only http and https URLs with a host
// and no user information are accepted.
func NormalizeHTU(u string) (string, error) {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	p, err := url.Parse(u)
	if err != nil {
		return "", errors.New("not a URL")
	}
	scheme := strings.ToLower(p.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("not an http or https URL")
	}
	if p.Opaque != "" || p.Host == "" || p.User != nil {
		return "", errors.New("not an absolute URL with a host and no user information")
	}
	host, port := strings.ToLower(p.Hostname()), p.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path, ok := normalizePercent(p.EscapedPath())
	if !ok {
		return "", errors.New("the path has a malformed percent-encoding")
	}
	path = removeDotSegments(path)
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

// normalizePercent upper-cases the hex digits of each percent-encoding and
// decodes those that encode an unreserved character (RFC 3986 §2.3, §6.2.2.2).
func normalizePercent(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		c := unhex(s[i+1])<<4 | unhex(s[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(s[i+1:i+3]))
		}
		i += 2
	}
	return b.String(), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments is RFC 3986 §5.2.4's algorithm over an absolute path.
func removeDotSegments(in string) string {
	var out []string
	segs := strings.Split(in, "/")
	for i, s := range segs {
		switch s {
		case ".":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, "/")
}
