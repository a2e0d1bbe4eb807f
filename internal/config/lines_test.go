package config

import (
	"maps"
	"testing"
)

func TestIndexLines(t *testing.T) {
	doc := `top = 1
a.b = 2
"quoted.key" = 3

[[arr]]
x = 1
[arr.sub]
y = 2
[[arr.inner]]
z = 3
[[arr.inner]]
z = 4

[[arr]]
x = 5
[[arr.inner]]
z = 6

[t]
inl = { p = 1, q.r = 2 }
list = [
  { s = 1 },
  [7, 8],
]
`
	got := indexLines([]byte(doc))
	want := map[string]int{
		"top": 1, "a": 2, "a.b": 2, `"quoted.key"`: 3,
		"arr": 5, "arr[1]": 5, "arr[1].x": 6, "arr[1].sub": 7, "arr[1].sub.y": 8,
		"arr[1].inner": 9, "arr[1].inner[1]": 9, "arr[1].inner[1].z": 10,
		"arr[1].inner[2]": 11, "arr[1].inner[2].z": 12,
		"arr[2]": 14, "arr[2].x": 15, "arr[2].inner": 16, "arr[2].inner[1]": 16, "arr[2].inner[1].z": 17,
		"t": 19, "t.inl": 20, "t.inl.p": 20, "t.inl.q": 20, "t.inl.q.r": 20,
		"t.list": 21, "t.list[1]": 22, "t.list[1].s": 22,
		"t.list[2]": 23, "t.list[2][1]": 23, "t.list[2][2]": 23,
	}
	if !maps.Equal(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("line of %s = %d, want %d", k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s at line %d", k, v)
			}
		}
	}
}
