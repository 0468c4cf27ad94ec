package schemas

import (
	"bytes"
	"encoding/json"
)

// Marshal encodes v as JSON without escaping <, > and &, as Meta writes
// it: URLs stay readable and raw values keep their bytes.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
