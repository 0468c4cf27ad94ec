package processor

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func fullConversation() *Conversation {
	at := time.Date(2026, 11, 25, 21, 3, 4, 5, time.FixedZone("CST", -6*3600))
	return &Conversation{
		ID: "c_0123456789abcdef0123", Tenant: "acme", PhoneNumberID: "106540352242922",
		User: "US.13491208655302741918", WaID: "5215550001111", BSUID: "US.13491208655302741918",
		ProfileName: "Ana María 🌵", LastInbound: at, WindowUntil: at.Add(24 * time.Hour),
		Messages: []Message{
			{Dir: "in", Wamid: "wamid.in", Type: "text", Text: "hola\n¿abren?", Time: at},
			{Dir: "out", Type: "text", Text: "sí", Time: at.Add(time.Second), CommandID: "cmd-1",
				Origin: "bot", Status: "failed", ErrorCode: 131047},
			{Dir: "in", Type: "image"},
		},
		Handoff:         Handoff{Mode: ModeHuman, Since: at, By: "agent Luis", Reason: "asked for a person"},
		MarketingOptOut: true,
		Counters:        Counters{Inbound: 2, Outbound: 1, BotReplies: 1, Handoffs: -1},
		CreatedAt:       at.Add(-time.Hour),
		UpdatedAt:       at.Add(2 * time.Second),
	}
}

// inUTC is c with every time in UTC, as the codec reads them back.
func inUTC(c Conversation) Conversation {
	utc := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
	utc(&c.LastInbound)
	utc(&c.WindowUntil)
	utc(&c.Handoff.Since)
	utc(&c.CreatedAt)
	utc(&c.UpdatedAt)
	c.Messages = append([]Message(nil), c.Messages...)
	for i := range c.Messages {
		utc(&c.Messages[i].Time)
	}
	return c
}

// TestConversationCodec: a conversation reads back as it was written,
// every field, from the binary form and from the JSON an earlier wasp
// stored.
func TestConversationCodec(t *testing.T) {
	for _, c := range []*Conversation{fullConversation(), {ID: "c_empty"}, {Messages: []Message{}}} {
		want := inUTC(*c)
		if len(want.Messages) == 0 {
			want.Messages = nil // as JSON reads "messages": null
		}
		var got Conversation
		if err := decodeConversation(encodeConversation(c), &got); err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: read back\n%+v\nwant\n%+v", c.ID, got, want)
		}
		js, _ := json.Marshal(c)
		var fromJSON Conversation
		if err := decodeConversation(js, &fromJSON); err != nil {
			t.Fatalf("%s, JSON: %v", c.ID, err)
		}
		if fromJSON = inUTC(fromJSON); len(fromJSON.Messages) == 0 {
			fromJSON.Messages = nil
		}
		if !reflect.DeepEqual(fromJSON, want) {
			t.Fatalf("%s, JSON: read back\n%+v\nwant\n%+v", c.ID, fromJSON, want)
		}
	}
}

// TestConversationCodecFields fails when a field is added to a stored
// type: encodeConversation and decodeConversation must learn it, with a
// new codecVersion.
func TestConversationCodecFields(t *testing.T) {
	for typ, n := range map[reflect.Type]int{
		reflect.TypeFor[Conversation](): 15,
		reflect.TypeFor[Message]():      9,
		reflect.TypeFor[Handoff]():      4,
		reflect.TypeFor[Counters]():     4,
	} {
		if typ.NumField() != n {
			t.Errorf("%s has %d fields, the codec knows %d: teach it the new ones", typ.Name(), typ.NumField(), n)
		}
	}
}

// TestConversationCodecCorrupt: every truncation of a stored conversation,
// and a value of an unknown version, is an error, not a panic or a
// conversation.
func TestConversationCodecCorrupt(t *testing.T) {
	v := encodeConversation(fullConversation())
	for n := range len(v) {
		var c Conversation
		if err := decodeConversation(v[:n], &c); err == nil {
			t.Fatalf("the first %d of %d bytes decoded", n, len(v))
		}
	}
	var c Conversation
	if err := decodeConversation(append([]byte{codecVersion + 1}, v[1:]...), &c); err == nil {
		t.Fatal("an unknown version decoded")
	}
}

func FuzzDecodeConversation(f *testing.F) {
	f.Add(encodeConversation(fullConversation()))
	f.Add(encodeConversation(&Conversation{}))
	f.Fuzz(func(t *testing.T, v []byte) {
		var c Conversation
		if decodeConversation(v, &c) != nil || v[0] == '{' {
			return
		}
		var again Conversation
		if err := decodeConversation(encodeConversation(&c), &again); err != nil || !reflect.DeepEqual(inUTC(again), inUTC(c)) {
			t.Fatalf("a decoded conversation does not read back: %v", err)
		}
	})
}

func BenchmarkConversationCodec(b *testing.B) {
	c := fullConversation()
	for range 17 { // a conversation holds up to 20 messages
		c.Messages = append(c.Messages, c.Messages[1])
	}
	js, _ := json.Marshal(c)
	bin := encodeConversation(c)
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d Conversation
			json.Unmarshal(js, &d)
			json.Marshal(&d)
		}
	})
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d Conversation
			decodeConversation(bin, &d)
			encodeConversation(&d)
		}
	})
}
