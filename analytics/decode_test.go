package analytics

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"wasp/schemas"
)

// fullEvent has every field of schemas.Event set, so that a field added
// to the event and forgotten by the scanner or the columns shows.
func fullEvent() schemas.Event {
	var e schemas.Event
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name + " välue")
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(1000 + i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Struct:
			f.Set(reflect.ValueOf(time.Date(2026, 2, 1, 10, 11, 12, 345678901, time.UTC)))
		default:
			panic("fullEvent: field " + v.Type().Field(i).Name + " of a kind it does not know")
		}
	}
	return e
}

func TestDecodeEvent(t *testing.T) {
	f := func(in string, fast bool) {
		t.Helper()
		var want, got schemas.Event
		wantErr := json.Unmarshal([]byte(in), &want)
		gotErr := decodeEvent([]byte(in), &got)
		if (gotErr != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) && wantErr == nil {
			t.Fatalf("decodeEvent(%s) = %+v, %v; want %+v, %v", in, got, gotErr, want, wantErr)
		}
		var scanned schemas.Event
		if ok := scanEvent(in, &scanned); ok != fast {
			t.Errorf("scanEvent(%s) took the fast path: %v; want %v", in, ok, fast)
		}
	}
	full, _ := json.Marshal(fullEvent())
	f(string(full), true)
	f(`{}`, true)
	f(` { "id" : "a" , "kind":"inbound", "error_code": -12, "billable": false } `, true)
	f(`{"id":"a","time":"2026-02-01T10:11:12+01:00","tokens":0}`, true)
	// Left to encoding/json, with the same result.
	f(`{"id":"a\"b","reason":"caf\u00e9"}`, false)
	f(`{"id":null,"kind":"status"}`, false)
	f(`{"ID":"upper case key"}`, false)
	f(`{"id":"a","extra":{"nested":[1,2]}}`, false)
	f(`{"error_code":1.5}`, false)
	f(`{"error_code":99999999999}`, false)
	f(`{"latency_ms":007}`, false)
	// Not events.
	f(``, false)
	f(`not json`, false)
	f(`{"id":"a"`, false)
	f(`{"id":"a"} trailing`, false)
	f(`{"id":1}`, false)
	f(`{"time":"yesterday"}`, false)
	f(`{"billable":"yes"}`, false)
	f(`[1,2]`, false)
}

func FuzzDecodeEvent(f *testing.F) {
	full, _ := json.Marshal(fullEvent())
	f.Add(full)
	f.Add([]byte(`{"id":"a","kind":"status","error_code":131026,"billable":true}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var want, got schemas.Event
		wantErr := json.Unmarshal(in, &want)
		gotErr := decodeEvent(in, &got)
		if (gotErr != nil) != (wantErr != nil) || wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeEvent(%q) = %+v, %v; encoding/json: %+v, %v", in, got, gotErr, want, wantErr)
		}
	})
}

// TestEventColumns: one column per field of the event, in the events
// table, and the insert carries each value.
func TestEventColumns(t *testing.T) {
	cols := eventColumns()
	if want := reflect.TypeFor[schemas.Event]().NumField() + 4; len(cols) != want {
		t.Fatalf("%d columns; want %d (one per event field and the 4 of the source)", len(cols), want)
	}
	rows := []*eventRow{{e: fullEvent(), unix: 1769940672, partition: 3, offset: 42}}
	for _, c := range cols {
		v := reflect.ValueOf(c.build(rows, "wa.events", 7))
		if v.Len() != 1 || v.Index(0).IsZero() {
			t.Errorf("column %s: got %v; want one value, not zero", c.name, v)
		}
	}
}
