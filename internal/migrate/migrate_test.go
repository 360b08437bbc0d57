package migrate

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"m/0002_second.sql": {Data: []byte("B")},
		"m/0001_init.sql":   {Data: []byte("A")},
	}, "m")
	if err != nil || len(ms) != 2 || ms[0].Version != 1 || ms[0].Name != "init" || ms[1].SQL != "B" {
		t.Fatalf("Load: %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"bad name":      {"m/init.sql": {}},
		"not sql":       {"m/0001_init.txt": {}},
		"duplicate ver": {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
	} {
		if _, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
}
