package bot

import "testing"

func TestDetectLanguage(t *testing.T) {
	f := func(text, def, want string) {
		t.Helper()
		if got := DetectLanguage(text, def); got != want {
			t.Errorf("DetectLanguage(%q, %q) = %q; want %q", text, def, got, want)
		}
	}
	f("hola", "en", "es")
	f("Hola!", "en", "es")
	f("buenos días", "en", "es")
	f("¿A qué hora abren?", "en", "es")
	f("¡genial!", "en", "es")
	f("mañana", "en", "es")
	f("quiero pedir una torta para el sábado", "en", "es")
	f("Dónde están", "en", "es")
	f("gracias", "en", "es")
	f("Hi there", "es", "en")
	f("hello", "es", "en")
	f("Good morning", "es", "en")
	f("What time do you open?", "es", "en")
	f("I want to order a cake for Saturday", "es", "en")
	f("where are you", "es", "en")
	f("Thanks!", "es", "en")
	f("I'd like to order a café", "es", "en")
	// Nothing to tell by: the default.
	f("ok", "es", "es")
	f("ok", "en", "en")
	f("👍", "en", "en")
	f("", "es", "es")
	f("iPhone 15", "en", "en")
}

func TestDetectInputHistory(t *testing.T) {
	in := Input{Text: "ok", History: []Turn{
		{Role: RoleUser, Text: "hola"},
		{Role: RoleAssistant, Text: "Hello! How can I help?"},
		{Role: RoleUser, Text: "what are your opening hours"},
		{Role: RoleUser, Text: "👍"},
	}}
	lang, ok := detectInput(in)
	if lang != English || !ok {
		t.Errorf("detectInput = %q, %v; want %q, true (the customer's latest message that tells)", lang, ok, English)
	}
	in.History = in.History[:2]
	if lang, _ := detectInput(in); lang != Spanish {
		t.Errorf("detectInput = %q; want %q (assistant turns do not count)", lang, Spanish)
	}
	in.History = nil
	if _, ok := detectInput(in); ok {
		t.Errorf("detectInput(ok) is sure; want not sure")
	}
}

func TestFold(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q; want %q", in, got, want)
		}
	}
	f("¿A qué HORA abren?", "a que hora abren")
	f("  Pingüino,  ÑANDÚ... ¡ya! ", "pinguino nandu ya")
	f("Talk-to a human!!", "talk to a human")
	f("L-V 8:00", "l v 8 00")
	f("¿?¡!", "")
	f("", "")
}

func TestContainsPhrase(t *testing.T) {
	f := func(text, phrase string, want bool) {
		t.Helper()
		if got := containsPhrase(text, phrase); got != want {
			t.Errorf("containsPhrase(%q, %q) = %v; want %v", text, phrase, got, want)
		}
	}
	f("quiero un agente", "agente", true)
	f("agente", "agente", true)
	f("agentes de viaje", "agente", false)
	f("subagente", "agente", false)
	f("un subagente y un agente", "agente", true)
	f("hablar con un humano ya", "hablar con un humano", true)
	f("hablar con un humanoide", "hablar con un humano", false)
	f("", "agente", false)
	f("agente", "", false)
}
