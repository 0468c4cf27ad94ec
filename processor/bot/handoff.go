package bot

import (
	"fmt"
	"maps"
	"slices"
)

// HandoffRules say when a customer asks for a person, and what the bot
// answers then. Both bots check them before anything else.
type HandoffRules struct {
	// Keywords per language: a message containing one of them, in any
	// language, hands the conversation off. Matching ignores case, accents
	// and punctuation and is on word boundaries ("agente" matches "¿Un
	// agente?", not "agentes"). Nil means DefaultHandoffKeywords; an empty
	// non-nil map turns keyword handoff off.
	Keywords map[string][]string `yaml:"keywords"`
	// Message per language answered on handoff; a language missing here
	// takes DefaultHandoffMessage's.
	Message map[string]string `yaml:"message"`
}

// DefaultHandoffKeywords returns the built-in keywords, Spanish and
// English.
func DefaultHandoffKeywords() map[string][]string {
	return map[string][]string{
		Spanish: {
			"hablar con humano", "hablar con un humano", "humano",
			"hablar con una persona", "hablar con alguien", "persona real",
			"agente", "asesor", "asesora", "operador", "operadora",
			"gerente", "encargado", "supervisor", "reembolso", "queja",
			"reclamo",
		},
		English: {
			"talk to a human", "speak to a human", "human", "real person",
			"talk to someone", "speak to someone", "agent",
			"representative", "operator", "manager", "supervisor",
			"refund", "complaint",
		},
	}
}

// DefaultHandoffMessage returns the built-in handoff answers.
func DefaultHandoffMessage() map[string]string {
	return map[string]string{
		Spanish: "Te comunico con una persona de nuestro equipo. Te responderá por aquí en breve.",
		English: "I'm passing you to a person on our team. They'll reply here shortly.",
	}
}

// handoff is HandoffRules ready to match.
type handoff struct {
	phrases []string // folded
	message map[string]string
}

func newHandoff(r HandoffRules) (*handoff, error) {
	kw := r.Keywords
	if kw == nil {
		kw = DefaultHandoffKeywords()
	}
	h := &handoff{message: DefaultHandoffMessage()}
	maps.Copy(h.message, r.Message)
	for _, lang := range slices.Sorted(maps.Keys(kw)) {
		for _, k := range kw[lang] {
			f := fold(k)
			if f == "" {
				return nil, fmt.Errorf("cannot use handoff keyword %q (%s): no letters or digits", k, lang)
			}
			h.phrases = append(h.phrases, f)
		}
	}
	return h, nil
}

// match reports whether the folded text asks for a person.
func (h *handoff) match(folded string) bool {
	for _, p := range h.phrases {
		if containsPhrase(folded, p) {
			return true
		}
	}
	return false
}

// pick returns m's text for lang, else for def, else Spanish, else
// English, else the first language in order; "" for an empty m.
func pick(m map[string]string, lang, def string) string {
	for _, l := range []string{lang, def, Spanish, English} {
		if s, ok := m[l]; ok && s != "" {
			return s
		}
	}
	for _, l := range slices.Sorted(maps.Keys(m)) {
		if m[l] != "" {
			return m[l]
		}
	}
	return ""
}
