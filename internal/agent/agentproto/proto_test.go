package agentproto

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		line, code string
		id         uint64
	}{
		{`{"v":1,"id":3,"op":"hello"}`, "", 3},
		{`{"v":1,"op":"wait-ready","timeout_ms":1500}`, "", 0},
		{`{"v":1,"id":4,"op":"anything"}`, "", 4}, // ops are the server's business
		{`{"v":2,"id":5,"op":"hello","features":["streams"]}`, "", 5},
		{`{"v":3,"id":5,"op":"hello"}`, CodeUnsupportedVersion, 5},
		{`{"id":6,"op":"hello"}`, CodeBadRequest, 6},
		{`{"v":1,"id":7}`, CodeBadRequest, 7},
		{`{"v":1,"id":8,"op":"wait-ready","timeout_ms":-1}`, CodeBadRequest, 8},
		{`{"v":1,"op":"hel`, CodeBadRequest, 0},
		{`hello`, CodeBadRequest, 0},
	} {
		req, err := ParseRequest([]byte(tc.line))
		if got := codeOf(err); got != tc.code || req.ID != tc.id {
			t.Errorf("ParseRequest(%s) = id %d, %v (code %q); want id %d, code %q", tc.line, req.ID, err, got, tc.id, tc.code)
		}
	}
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return ErrorCode(err)
}

func TestUnsupportedVersionSaysWhatToDo(t *testing.T) {
	_, err := ParseRequest([]byte(`{"v":9,"op":"hello"}`))
	if err == nil || !strings.Contains(err.Error(), "9") || !strings.Contains(err.Error(), "update the guest image") {
		t.Fatalf("error = %v; want it to name version 9 and the fix", err)
	}
	if ErrorCode(errors.New("plain")) != CodeFailed {
		t.Error("a plain error has no code: want CodeFailed")
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", MaxLine+10)
	br := bufio.NewReaderSize(strings.NewReader("one\n\n  two \r\n"+long+"\nthree\nhalf"), 16)
	var got []string
	for {
		line, err := ReadLine(br)
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrLineTooLong) {
			got = append(got, "<too long>")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(line))
	}
	want := "one||two|<too long>|three"
	if strings.Join(got, "|") != want {
		t.Fatalf("lines = %q; want %q (the unterminated half line dropped)", strings.Join(got, "|"), want)
	}
}

func TestMarshalLineIsOneLine(t *testing.T) {
	b, err := MarshalLine(Response{V: 1, OK: false, Error: "two\nlines"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), "\n") != 1 || b[len(b)-1] != '\n' {
		t.Fatalf("MarshalLine = %q; want exactly one newline, at the end", b)
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"v":1,"id":1,"op":"hello"}`, `{"v":1,"op":"wait-ready","timeout_ms":10}`, `{`, ``, `{"v":-1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := ParseRequest(line)
		if err == nil && (req.V < 1 || req.V > Version || req.Op == "" || req.TimeoutMS < 0) {
			t.Fatalf("accepted an invalid request %+v from %q", req, line)
		}
		if err != nil && ErrorCode(err) == CodeFailed {
			t.Fatalf("error without a protocol code: %v", err)
		}
	})
}
