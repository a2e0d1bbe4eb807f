package agentproto

import (
	"encoding/json"
	"testing"
	"time"
)

// The file ops' wire form: the keys a host and an agent of other builds
// rely on.
func TestFileOpsWireForm(t *testing.T) {
	req, err := ParseRequest([]byte(`{"v":2,"id":9,"op":"fs-move","path":"~/a","to":"b","depth":2,"recursive":true}`))
	if err != nil || req.Op != OpFSMove || req.Path != "~/a" || req.To != "b" || req.Depth != 2 || !req.Recursive {
		t.Errorf("ParseRequest = %+v, %v", req, err)
	}
	fi := FileInfo{Name: "x", Path: "/root/x", Type: TypeSymlink, Size: 3, Mode: 0o644, Permissions: "lrw-r--r--",
		Owner: "root", Group: "root", Modified: time.Unix(0, 0).UTC(), SymlinkTarget: "y"}
	b, _ := json.Marshal(Response{V: 2, ID: 9, OK: true, File: &fi, PID: 7, Created: true})
	want := `{"v":2,"id":9,"ok":true,"pid":7,"file":{"name":"x","path":"/root/x","type":"symlink","size":3,"mode":420,` +
		`"permissions":"lrw-r--r--","owner":"root","group":"root","modified":"1970-01-01T00:00:00Z","symlink_target":"y"},"created":true}`
	if string(b) != want {
		t.Errorf("answer = %s\nwant     %s", b, want)
	}
	if b, _ := json.Marshal(FSEvent{Name: "sub/f", Op: FSCreate}); string(b) != `{"name":"sub/f","op":"create"}` {
		t.Errorf("event = %s", b)
	}
}

func TestValidatePath(t *testing.T) {
	for p, code := range map[string]string{"/root": "", "rel": "", "~": "", "": CodeBadRequest, "a\x00b": CodeBadRequest} {
		if got := codeOf(ValidatePath(p)); got != code {
			t.Errorf("ValidatePath(%q) code %q; want %q", p, got, code)
		}
	}
}
