package bot

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

var lola = Business{
	Name:    "Panadería Lola",
	Sector:  "bakery",
	Hours:   "lunes a sábado de 8:00 a 20:00",
	Phone:   "+34 600 000 000",
	Website: "https://lola.example",
	Address: "Calle Mayor 1, Madrid",
}

func newTestRules(t *testing.T, cfg RulesConfig) *Rules {
	t.Helper()
	r, err := NewRules(cfg)
	if err != nil {
		t.Fatalf("NewRules: %v", err)
	}
	return r
}

func reply(t *testing.T, b Bot, in Input) Reply {
	t.Helper()
	if in.Business == (Business{}) {
		in.Business = lola
	}
	rep, err := b.Reply(context.Background(), in)
	if err != nil {
		t.Fatalf("Reply(%q): %v", in.Text, err)
	}
	return rep
}

// messageType is the "type" of the Graph body of rep ("" for none).
func messageType(t *testing.T, rep Reply) string {
	t.Helper()
	m, err := rep.Message()
	if err != nil {
		t.Fatalf("Message: %v", err)
	}
	if m == nil {
		return ""
	}
	var v struct{ Type string }
	if err := json.Unmarshal(m, &v); err != nil {
		t.Fatalf("cannot decode %s: %v", m, err)
	}
	return v.Type
}

func TestRulesAnswers(t *testing.T) {
	r := newTestRules(t, RulesConfig{})
	f := func(text, intent, lang, contains string) {
		t.Helper()
		rep := reply(t, r, Input{Text: text})
		if rep.Intent != intent || rep.Language != lang {
			t.Errorf("%q: intent %q, language %q; want %q, %q", text, rep.Intent, rep.Language, intent, lang)
		}
		if !strings.Contains(rep.Text, contains) {
			t.Errorf("%q: text %q; want it to contain %q", text, rep.Text, contains)
		}
		if rep.Handoff {
			t.Errorf("%q: handoff (%s); want none", text, rep.HandoffReason)
		}
	}
	f("hola", "greeting", Spanish, "¡Hola! Bienvenido a Panadería Lola.")
	f("Buenas tardes", "greeting", Spanish, "Panadería Lola")
	f("Hi there", "greeting", English, "Hi! Welcome to Panadería Lola.")
	f("¿A qué hora abren?", "hours", Spanish, lola.Hours)
	f("What are your opening hours?", "hours", English, lola.Hours)
	f("Hola, ¿a qué hora cierran hoy?", "hours", Spanish, lola.Hours)
	f("¿Dónde están?", "location", Spanish, lola.Address)
	f("where are you located", "location", English, lola.Address)
	f("¿Tienen teléfono?", "contact", Spanish, lola.Phone)
	f("website?", "website", English, lola.Website)
	f("¿Cuánto cuesta el pan?", "catalog", Spanish, lola.Website)
	f("muchas gracias!", "thanks", Spanish, "Con gusto")
	f("thank you", "thanks", English, "welcome")
	f("adiós", "goodbye", Spanish, "Hasta pronto")
	// A word of one language only: the answer follows the pattern's language.
	f("hours", "hours", English, lola.Hours)
}

func TestRulesHola(t *testing.T) {
	// The acceptance case: "hola" gets a Spanish text message.
	r := newTestRules(t, RulesConfig{})
	rep := reply(t, r, Input{Text: "hola", Type: "text"})
	if got := messageType(t, rep); got != "text" {
		t.Errorf("message type %q; want text", got)
	}
	if rep.Language != Spanish || rep.Confidence != 1 {
		t.Errorf("language %q, confidence %v; want es, 1", rep.Language, rep.Confidence)
	}
}

func TestRulesTemplate(t *testing.T) {
	r := newTestRules(t, RulesConfig{})
	rep := reply(t, r, Input{Text: "hola", UserName: "Ana"})
	if want := "¡Hola Ana! Bienvenido a Panadería Lola. ¿En qué te puedo ayudar?"; rep.Text != want {
		t.Errorf("greeting %q; want %q", rep.Text, want)
	}
	rep = reply(t, r, Input{Text: "teléfono"})
	if want := "Puedes llamarnos al +34 600 000 000 o visitar https://lola.example."; rep.Text != want {
		t.Errorf("contact %q; want %q", rep.Text, want)
	}
	// Missing business information takes the template's other branch.
	rep = reply(t, r, Input{Text: "horario", Business: Business{Name: "X"}})
	if want := "Aún no tengo el horario a mano; escríbenos y te lo confirmamos."; rep.Text != want {
		t.Errorf("hours without hours %q; want %q", rep.Text, want)
	}
	rep = reply(t, r, Input{Text: "hello", Business: Business{Sector: "x"}})
	if want := "Hi! Welcome. How can I help you?"; rep.Text != want {
		t.Errorf("greeting without a name %q; want %q", rep.Text, want)
	}
}

func TestRulesHandoffKeyword(t *testing.T) {
	r := newTestRules(t, RulesConfig{})
	f := func(text, lang string) {
		t.Helper()
		rep := reply(t, r, Input{Text: text})
		if !rep.Handoff || rep.HandoffReason != ReasonKeyword || rep.Intent != IntentHuman {
			t.Errorf("%q: handoff %v, reason %q, intent %q; want true, %q, %q", text, rep.Handoff, rep.HandoffReason, rep.Intent, ReasonKeyword, IntentHuman)
		}
		if want := DefaultHandoffMessage()[lang]; rep.Text != want {
			t.Errorf("%q: text %q; want %q", text, rep.Text, want)
		}
	}
	f("quiero hablar con un humano", Spanish)
	f("¡Quiero un REEMBOLSO!", Spanish)
	f("Can I talk to a human please?", English)
}

func TestRulesFallback(t *testing.T) {
	r := newTestRules(t, RulesConfig{})
	rep := reply(t, r, Input{Text: "¿venden bicicletas eléctricas?"})
	if rep.Intent != IntentFallback || rep.Handoff || rep.Confidence != 0 {
		t.Fatalf("intent %q, handoff %v, confidence %v; want fallback, false, 0", rep.Intent, rep.Handoff, rep.Confidence)
	}
	if len(rep.Buttons) == 0 || len(rep.Buttons) > 3 {
		t.Fatalf("%d buttons; want 1 to 3", len(rep.Buttons))
	}
	for _, b := range rep.Buttons {
		if n := utf8.RuneCountInString(b.Title); n > 20 || n == 0 {
			t.Errorf("button %q: %d characters; want 1 to 20", b.Title, n)
		}
		if r.byName[b.ID] == nil {
			t.Errorf("button id %q names no intent", b.ID)
		}
	}
	if got := messageType(t, rep); got != "interactive" {
		t.Errorf("message type %q; want interactive", got)
	}
	rep = reply(t, r, Input{Text: "do you sell bikes"})
	if rep.Intent != IntentFallback || rep.Language != English || rep.Buttons[0].Title != "Opening hours" {
		t.Errorf("English fallback: intent %q, language %q, buttons %v; want fallback in English", rep.Intent, rep.Language, rep.Buttons)
	}
	// Media without a caption has nothing to match.
	rep = reply(t, r, Input{Type: "image"})
	if rep.Intent != IntentFallback {
		t.Errorf("image: intent %q; want fallback", rep.Intent)
	}
}

func TestRulesButtonTap(t *testing.T) {
	r := newTestRules(t, RulesConfig{})
	rep := reply(t, r, Input{Type: "interactive", ReplyID: "hours", Text: "Horario"})
	if rep.Intent != "hours" || !strings.Contains(rep.Text, lola.Hours) || rep.Language != Spanish || rep.Confidence != 1 {
		t.Errorf("tap hours: intent %q, language %q, confidence %v, text %q; want hours in Spanish", rep.Intent, rep.Language, rep.Confidence, rep.Text)
	}
	rep = reply(t, r, Input{Type: "interactive", ReplyID: "location", Text: "Location"})
	if rep.Intent != "location" || rep.Language != English {
		t.Errorf("tap location: intent %q, language %q; want location, en", rep.Intent, rep.Language)
	}
	rep = reply(t, r, Input{Type: "interactive", ReplyID: "human", Text: "Hablar con un agente"})
	if !rep.Handoff || rep.HandoffReason != ReasonIntent || rep.Intent != IntentHuman || rep.Text != DefaultHandoffMessage()[Spanish] {
		t.Errorf("tap human: %+v; want a handoff by intent with the handoff message", rep)
	}
	// An id that names no intent: the title is matched as text.
	rep = reply(t, r, Input{Type: "interactive", ReplyID: "row_42", Text: "Horario"})
	if rep.Intent != "hours" {
		t.Errorf("tap of an unknown id: intent %q; want hours from the title", rep.Intent)
	}
	rep = reply(t, r, Input{Type: "interactive", ReplyID: "help", Text: "See options"})
	if rep.List == nil || rep.Language != English || messageType(t, rep) != "interactive" {
		t.Errorf("tap help: list %v, language %q; want the English list", rep.List, rep.Language)
	}
}

func TestRulesLowConfidence(t *testing.T) {
	r := newTestRules(t, RulesConfig{})
	unclear := []Turn{
		{Role: RoleUser, Text: "ñsdkfj"},
		{Role: RoleAssistant, Text: "Perdona, no entendí tu mensaje."},
	}
	rep := reply(t, r, Input{Text: "qwerty asdf", History: unclear})
	if !rep.Handoff || rep.HandoffReason != ReasonLowConfidence || rep.Text != DefaultHandoffMessage()[Spanish] {
		t.Errorf("second unclear message: %+v; want a handoff for low confidence", rep)
	}
	clear := []Turn{{Role: RoleUser, Text: "hola"}, {Role: RoleAssistant, Text: "¡Hola!"}}
	rep = reply(t, r, Input{Text: "qwerty asdf", History: clear})
	if rep.Handoff || rep.Intent != IntentFallback {
		t.Errorf("first unclear message: intent %q, handoff %v; want fallback, no handoff", rep.Intent, rep.Handoff)
	}
	rep = reply(t, r, Input{Text: "hola", History: unclear})
	if rep.Handoff || rep.Intent != "greeting" {
		t.Errorf("clear after unclear: intent %q, handoff %v; want greeting, no handoff", rep.Intent, rep.Handoff)
	}

	// With a threshold, a weak match counts as unclear too.
	r = newTestRules(t, RulesConfig{MinConfidence: 0.5})
	weak := "Hola, quisiera saber si hacen tartas de cumpleaños personalizadas para el sábado"
	rep = reply(t, r, Input{Text: weak, History: unclear})
	if !rep.Handoff || rep.HandoffReason != ReasonLowConfidence || rep.Confidence >= 0.5 {
		t.Errorf("weak match after unclear: %+v; want a handoff for low confidence", rep)
	}

	// Negative turns the rule off.
	r = newTestRules(t, RulesConfig{MinConfidence: -1})
	rep = reply(t, r, Input{Text: "qwerty asdf", History: unclear})
	if rep.Handoff || rep.Intent != IntentFallback {
		t.Errorf("rule off: intent %q, handoff %v; want fallback, no handoff", rep.Intent, rep.Handoff)
	}
}

func TestRulesTypes(t *testing.T) {
	r := newTestRules(t, RulesConfig{})
	for _, typ := range []string{"reaction", "system", "edit", "revoke"} {
		rep := reply(t, r, Input{Type: typ, Text: "hola"})
		if rep.Text != "" || rep.Handoff || rep.Intent != IntentIgnored || messageType(t, rep) != "" {
			t.Errorf("%s: %+v; want an empty reply", typ, rep)
		}
	}
	rep := reply(t, r, Input{Type: "request_welcome"})
	if rep.Intent != "greeting" || rep.Language != Spanish {
		t.Errorf("request_welcome: intent %q, language %q; want greeting in Spanish", rep.Intent, rep.Language)
	}
}

func TestRulesDefaultsRender(t *testing.T) {
	// Every built-in intent renders in both languages, with and without
	// business information, into a valid Graph message.
	r := newTestRules(t, RulesConfig{})
	for _, it := range r.intents {
		for _, lang := range []string{Spanish, English} {
			for _, b := range []Business{lola, {Sector: "x"}} {
				rep, err := r.answer(it, Input{Business: b}, lang, 1)
				if err != nil {
					t.Fatalf("%s (%s): %v", it.Name, lang, err)
				}
				if rep.Language != lang || rep.Text == "" {
					t.Errorf("%s (%s): language %q, text %q", it.Name, lang, rep.Language, rep.Text)
				}
				if strings.Contains(rep.Text, "  ") || strings.Contains(rep.Text, " .") {
					t.Errorf("%s (%s): text %q has a stray space", it.Name, lang, rep.Text)
				}
				if _, err := rep.Message(); err != nil {
					t.Errorf("%s (%s): %v", it.Name, lang, err)
				}
			}
		}
	}
}

func TestLoadRules(t *testing.T) {
	b, err := os.ReadFile("testdata/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadRules(b)
	if err != nil {
		t.Fatalf("LoadRules: %v", err)
	}
	r := newTestRules(t, cfg)

	// A replaced answer; the other language keeps the built-in one.
	rep := reply(t, r, Input{Text: "horario"})
	if want := "Abrimos " + lola.Hours + ". Los festivos, de 9:00 a 14:00."; rep.Text != want {
		t.Errorf("hours es %q; want %q", rep.Text, want)
	}
	rep = reply(t, r, Input{Text: "opening hours"})
	if want := "Our opening hours: " + lola.Hours; rep.Text != want {
		t.Errorf("hours en %q; want %q", rep.Text, want)
	}
	// A list instead of the built-in buttons.
	rep = reply(t, r, Input{Text: "precios"})
	if rep.List == nil || len(rep.Buttons) != 0 || rep.List.Sections[0].Rows[0].ID != "pan_masa_madre" {
		t.Errorf("catalog: buttons %v, list %+v; want the tenant's list", rep.Buttons, rep.List)
	}
	// A new intent, by keyword and by regex.
	for _, text := range []string{"¿hacen envíos?", "¿me lo llevan a casa?"} {
		rep = reply(t, r, Input{Text: text, UserName: "Ana"})
		if rep.Intent != "delivery" || !strings.HasSuffix(rep.Text, "Pídelo por aquí, Ana.") || len(rep.Buttons) != 2 {
			t.Errorf("%q: intent %q, text %q, buttons %v; want delivery", text, rep.Intent, rep.Text, rep.Buttons)
		}
	}
	// A new handoff intent answers and hands off.
	rep = reply(t, r, Input{Text: "quiero hacer un pedido"})
	if rep.Intent != "order" || !rep.Handoff || rep.HandoffReason != ReasonIntent || !strings.HasPrefix(rep.Text, "¡Genial!") {
		t.Errorf("order: %+v; want the order intent's answer and a handoff", rep)
	}
	// A disabled intent.
	if r.byName["website"] != nil {
		t.Errorf("website is still there; want it disabled")
	}
	// Handoff keywords: Spanish replaced, English kept; the message.
	rep = reply(t, r, Input{Text: "tengo una factura equivocada"})
	if !rep.Handoff || rep.Text != "Ya le aviso a alguien del equipo de la panadería; te escribe en unos minutos." {
		t.Errorf("custom keyword: %+v; want a handoff with the tenant's message", rep)
	}
	rep = reply(t, r, Input{Text: "I want a refund"})
	if !rep.Handoff || rep.Text != DefaultHandoffMessage()[English] {
		t.Errorf("built-in English keyword: %+v; want a handoff", rep)
	}
	if cfg.MinConfidence != 0.3 || cfg.DefaultLanguage != Spanish {
		t.Errorf("min confidence %v, default language %q; want 0.3, es", cfg.MinConfidence, cfg.DefaultLanguage)
	}

	// LoadRules does not change the defaults it starts from.
	if d := DefaultRulesConfig(); d.Intents[1].Answers[Spanish] == cfg.Intents[1].Answers[Spanish] {
		t.Errorf("the defaults changed with a tenant's file")
	}
	// An empty file is the defaults.
	if cfg, err := LoadRules(nil); err != nil || len(cfg.Intents) != len(DefaultRulesConfig().Intents) {
		t.Errorf("LoadRules(nil): %d intents, %v; want the defaults", len(cfg.Intents), err)
	}
}

func TestRulesConfigErrors(t *testing.T) {
	f := func(name, yamlText, want string) {
		t.Helper()
		cfg, err := LoadRules([]byte(yamlText))
		if err == nil {
			_, err = NewRules(cfg)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v; want one containing %q", name, err, want)
		}
	}
	f("unknown key", "intents:\n  - name: x\n    answer: {es: hola}\n", "field answer not found")
	f("no name", "intents:\n  - answers: {es: hola}\n", "no name")
	f("bad regex", "intents:\n  - name: x\n    patterns: {es: [\"re:(\"]}\n    answers: {es: hola}\n", `pattern "re:(" of intent "x"`)
	f("empty pattern", "intents:\n  - name: x\n    patterns: {es: [\"¿?\"]}\n    answers: {es: hola}\n", "no letters or digits")
	f("no answer", "intents:\n  - name: x\n    patterns: {es: [y]}\n", "no answer")
	f("template", "intents:\n  - name: x\n    answers: {es: \"{{.Business.Nme}}\"}\n", `answer of intent "x" (es)`)
	f("4 buttons", "intents:\n  - name: x\n    answers: {es: hola}\n    buttons: {es: [{id: a, title: a}, {id: b, title: b}, {id: c, title: c}, {id: d, title: d}]}\n", "4 buttons, at most 3")
	f("long title", "intents:\n  - name: x\n    answers: {es: hola}\n    buttons: {es: [{id: a, title: Un título demasiado largo}]}\n", "longer than 20")
	f("same id", "intents:\n  - name: x\n    answers: {es: hola}\n    buttons: {es: [{id: a, title: a}, {id: a, title: b}]}\n", "used twice")
	f("list rows", "intents:\n  - name: x\n    answers: {es: hola}\n    list: {es: {button: Ver, sections: [{title: s}]}}\n", "has no rows")
	f("bad handoff keyword", "handoff:\n  keywords: {es: [\"!\"]}\n", "handoff keyword")
	f("not yaml", "intents: [", "cannot read rules")

	_, err := NewRules(RulesConfig{Intents: []Intent{
		{Name: "x", Answers: map[string]string{Spanish: "a"}},
		{Name: "x", Answers: map[string]string{Spanish: "b"}},
	}})
	if err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Errorf("duplicate intent: error %v; want one", err)
	}
	_, err = NewRules(RulesConfig{Intents: []Intent{{
		Name: "x", Answers: map[string]string{Spanish: "a"},
		Buttons: map[string][]Button{Spanish: {{ID: "a", Title: "a"}}},
		List:    map[string]*List{Spanish: {Button: "b", Sections: []Section{{Rows: []Row{{ID: "r", Title: "r"}}}}}},
	}}})
	if err == nil || !strings.Contains(err.Error(), "both buttons and a list") {
		t.Errorf("buttons and list: error %v; want one", err)
	}
}

func TestRulesOwnIntents(t *testing.T) {
	// Intents given in Go replace the built-in ones; the built-in fallback
	// is added when missing.
	r := newTestRules(t, RulesConfig{
		DefaultLanguage: English,
		Intents: []Intent{{
			Name:     "open",
			Patterns: map[string][]string{English: {"open"}, Spanish: {"abierto"}},
			Answers:  map[string]string{English: "Open {{.Business.Hours}}"},
		}},
	})
	rep := reply(t, r, Input{Text: "¿está abierto?"})
	if rep.Intent != "open" || rep.Text != "Open "+lola.Hours || rep.Language != English {
		t.Errorf("own intent: intent %q, text %q, language %q; want the English answer it has", rep.Intent, rep.Text, rep.Language)
	}
	rep = reply(t, r, Input{Text: "hola"})
	if rep.Intent != IntentFallback {
		t.Errorf("hola without a greeting intent: intent %q; want fallback", rep.Intent)
	}
}
