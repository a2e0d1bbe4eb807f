package agentproto

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
)

// ErrLineTooLong reports a line longer than MaxLine. ReadLine has skipped
// it, so the stream can go on.
var ErrLineTooLong = errors.New("line longer than the protocol allows")

// ReadLine returns the next line of br without its newline, with
// surrounding white space trimmed (an empty line is returned as such). A
// line longer than MaxLine is consumed and reported as ErrLineTooLong.
// At the end of the stream a final line without a newline is dropped,
// being a write cut short, and io.EOF is returned.
func ReadLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > MaxLine {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		switch {
		case err == nil && tooLong:
			return nil, ErrLineTooLong
		case err == nil:
			return bytes.TrimSpace(line), nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
}

// MarshalLine encodes v as one protocol line, newline included.
func MarshalLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
