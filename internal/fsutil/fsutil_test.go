package fsutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name     string
		existing []byte // nil: no file before
		data     []byte
		mode     os.FileMode
	}{
		{"new file", nil, []byte("hello\n"), 0o600},
		{"replaces", []byte("old contents, longer than the new"), []byte("new"), 0o600},
		{"other mode", nil, []byte("cert"), 0o644},
		{"empty", []byte("old"), nil, 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if tt.existing != nil {
				if err := os.WriteFile(path, tt.existing, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFileAtomic(path, tt.data, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(tt.data) {
				t.Errorf("contents: got %q, want %q", got, tt.data)
			}
			if runtime.GOOS != "windows" {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != tt.mode {
					t.Errorf("mode: got %v, want %v", got, tt.mode)
				}
			}
			wantOnly(t, dir, "f")
		})
	}
}

// TestWriteFileAtomicFailure: a write that cannot complete leaves the target
// as it was and no temporary file behind.
func TestWriteFileAtomicFailure(t *testing.T) {
	t.Run("missing directory", func(t *testing.T) {
		if err := WriteFileAtomic(filepath.Join(t.TempDir(), "no", "f"), []byte("x"), 0o600); err == nil {
			t.Fatal("got nil error, want one")
		}
	})
	t.Run("target is a directory", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "d")
		if err := os.Mkdir(target, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(target, "keep"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := WriteFileAtomic(target, []byte("x"), 0o600); err == nil {
			t.Fatal("got nil error, want one")
		}
		if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
			t.Errorf("target changed: %v %v", fi, err)
		}
		wantOnly(t, dir, "d")
	})
}

// wantOnly fails unless dir holds exactly the named entries.
func wantOnly(tb testing.TB, dir string, names ...string) {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		tb.Fatalf("directory holds %v, want %v (a temporary file left behind?)", got, names)
	}
	for i := range names {
		if got[i] != names[i] {
			tb.Fatalf("directory holds %v, want %v", got, names)
		}
	}
}
