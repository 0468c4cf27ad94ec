package bot

import (
	"strings"
	"testing"
)

func TestReplyMessage(t *testing.T) {
	f := func(rep Reply, want string) {
		t.Helper()
		got, err := rep.Message()
		if err != nil {
			t.Fatalf("Message: %v", err)
		}
		if string(got) != want {
			t.Errorf("Message =\n%s\nwant\n%s", got, want)
		}
	}
	f(Reply{}, "")
	f(Reply{Text: "  \n", Handoff: true}, "")
	f(Reply{Text: " Hola \n"}, `{"type":"text","text":{"body":"Hola"}}`)
	f(Reply{Text: "Mira https://x.example"}, `{"type":"text","text":{"preview_url":true,"body":"Mira https://x.example"}}`)
	f(Reply{Text: "¿Qué necesitas?", Buttons: []Button{{ID: "hours", Title: "Horario"}, {ID: "human", Title: "Hablar con un agente"}}},
		`{"type":"interactive","interactive":{"type":"button","body":{"text":"¿Qué necesitas?"},"action":{"buttons":[`+
			`{"type":"reply","reply":{"id":"hours","title":"Horario"}},{"type":"reply","reply":{"id":"human","title":"Hablar con un agente"}}]}}}`)
	f(Reply{Text: "Elige", List: &List{Button: "Ver", Sections: []Section{
		{Title: "Panes", Rows: []Row{{ID: "a", Title: "Baguette", Description: "1,20 €"}, {ID: "b", Title: "Chapata"}}},
	}}},
		`{"type":"interactive","interactive":{"type":"list","body":{"text":"Elige"},"action":{"button":"Ver","sections":[`+
			`{"title":"Panes","rows":[{"id":"a","title":"Baguette","description":"1,20 €"},{"id":"b","title":"Chapata"}]}]}}}`)
}

func TestReplyMessageLimits(t *testing.T) {
	long := strings.Repeat("ñ", 5000)
	m, err := Reply{Text: long}.Message()
	if err != nil || !strings.Contains(string(m), `"body":"`+strings.Repeat("ñ", MaxTextBody)+`"`) {
		t.Errorf("long text: %v; want the body cut at %d runes", err, MaxTextBody)
	}
	m, err = Reply{Text: long, Buttons: []Button{{ID: "a", Title: "a"}}}.Message()
	if err != nil || !strings.Contains(string(m), `"text":"`+strings.Repeat("ñ", MaxButtonsBody)+`"`) {
		t.Errorf("long button body: %v; want it cut at %d runes", err, MaxButtonsBody)
	}

	bad := func(name string, rep Reply, want string) {
		t.Helper()
		if _, err := rep.Message(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v; want one containing %q", name, err, want)
		}
	}
	b := Button{ID: "a", Title: "a"}
	l := &List{Button: "Ver", Sections: []Section{{Rows: []Row{{ID: "r", Title: "r"}}}}}
	bad("both", Reply{Text: "x", Buttons: []Button{b}, List: l}, "both buttons and a list")
	bad("no text", Reply{Buttons: []Button{b}}, "without text")
	bad("list no text", Reply{List: l}, "without text")
	bad("4 buttons", Reply{Text: "x", Buttons: []Button{b, {ID: "b", Title: "b"}, {ID: "c", Title: "c"}, {ID: "d", Title: "d"}}}, "at most 3")
	bad("empty title", Reply{Text: "x", Buttons: []Button{{ID: "a"}}}, "empty button title")
	bad("long title", Reply{Text: "x", Buttons: []Button{{ID: "a", Title: strings.Repeat("x", 21)}}}, "longer than 20")
	rows := make([]Row, 11)
	for i := range rows {
		rows[i] = Row{ID: string(rune('a' + i)), Title: "t"}
	}
	bad("11 rows", Reply{Text: "x", List: &List{Button: "Ver", Sections: []Section{{Rows: rows}}}}, "11 rows, at most 10")
	bad("untitled sections", Reply{Text: "x", List: &List{Button: "Ver", Sections: []Section{{Rows: rows[:1]}, {Rows: rows[1:2]}}}}, "empty section title")
	bad("long description", Reply{Text: "x", List: &List{Button: "Ver", Sections: []Section{{Rows: []Row{{ID: "a", Title: "a", Description: strings.Repeat("x", 73)}}}}}}, "longer than 72")
}

func TestCut(t *testing.T) {
	f := func(s string, n int, want string) {
		t.Helper()
		if got := cut(s, n); got != want {
			t.Errorf("cut(%q, %d) = %q; want %q", s, n, got, want)
		}
	}
	f("hola", 4, "hola")
	f(" hola ", 3, "hol")
	f("añoñ", 2, "añ")
	f("", 2, "")
}
