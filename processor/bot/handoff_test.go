package bot

import "testing"

func TestHandoffDefaults(t *testing.T) {
	h, err := newHandoff(HandoffRules{})
	if err != nil {
		t.Fatalf("newHandoff: %v", err)
	}
	f := func(text string, want bool) {
		t.Helper()
		if got := h.match(fold(text)); got != want {
			t.Errorf("match(%q) = %v; want %v", text, got, want)
		}
	}
	f("Quiero hablar con un humano", true)
	f("quiero HABLAR CON HUMANO!!", true)
	f("¿Me pasas con el gerente?", true)
	f("Quiero un reembolso", true)
	f("tengo una queja", true)
	f("¿hay algún asesor?", true)
	f("un Agente, por favor", true)
	f("Can I talk to a human?", true)
	f("I want a REFUND", true)
	f("get me your manager", true)
	f("agentes de viaje", false)
	f("la humanidad", false)
	f("hola", false)
	f("What are your hours?", false)
	f("", false)
}

func TestHandoffCustom(t *testing.T) {
	h, err := newHandoff(HandoffRules{
		Keywords: map[string][]string{Spanish: {"Atención al cliente"}},
		Message:  map[string]string{Spanish: "Ya te atienden."},
	})
	if err != nil {
		t.Fatalf("newHandoff: %v", err)
	}
	if !h.match(fold("quiero atencion al CLIENTE")) {
		t.Errorf("a custom keyword did not match")
	}
	if h.match(fold("talk to a human")) {
		t.Errorf("a default keyword matched; want only the configured ones")
	}
	if got, want := pick(h.message, Spanish, Spanish), "Ya te atienden."; got != want {
		t.Errorf("message es = %q; want %q", got, want)
	}
	if got, want := pick(h.message, English, Spanish), DefaultHandoffMessage()[English]; got != want {
		t.Errorf("message en = %q; want the default %q", got, want)
	}

	off, err := newHandoff(HandoffRules{Keywords: map[string][]string{}})
	if err != nil {
		t.Fatalf("newHandoff: %v", err)
	}
	if off.match(fold("agente")) {
		t.Errorf("an empty keyword map matched; want keyword handoff off")
	}

	if _, err := newHandoff(HandoffRules{Keywords: map[string][]string{English: {"?!"}}}); err == nil {
		t.Errorf("newHandoff with a keyword of punctuation: no error; want one")
	}
}

func TestPick(t *testing.T) {
	m := map[string]string{"pt": "olá", English: "hello"}
	f := func(lang, def, want string) {
		t.Helper()
		if got := pick(m, lang, def); got != want {
			t.Errorf("pick(%q, %q) = %q; want %q", lang, def, got, want)
		}
	}
	f("pt", Spanish, "olá")
	f(Spanish, "pt", "olá")
	f(Spanish, Spanish, "hello")
	f("fr", "de", "hello")
	if got := pick(map[string]string{"pt": "olá"}, "fr", "de"); got != "olá" {
		t.Errorf("pick of the only language = %q; want %q", got, "olá")
	}
	if got := pick(nil, Spanish, Spanish); got != "" {
		t.Errorf("pick(nil) = %q; want empty", got)
	}
}
