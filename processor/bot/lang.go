package bot

import (
	"strings"
	"unicode"
)

// Languages the bots know out of the box.
const (
	Spanish = "es"
	English = "en"
)

// DetectLanguage picks "es" or "en" for text, or def when it cannot tell.
//
// The heuristic, in order: an inverted mark (¿ ¡) or an ñ is Spanish;
// otherwise each word found in the Spanish or the English list below
// (greetings, thanks, the commonest function words and question words,
// words shared by both languages left out) scores one for its language,
// and an accented vowel (á é í ó ú) scores one more for Spanish. The
// higher score wins; a tie, such as a message with no known word ("ok",
// "👍", "iPhone 15"), gives def.
func DetectLanguage(text, def string) string {
	lang, ok := detect(text)
	if !ok {
		return def
	}
	return lang
}

// detect is DetectLanguage that says whether it could tell.
func detect(text string) (string, bool) {
	es, en := 0, 0
	for _, r := range text {
		switch r {
		case '¿', '¡', 'ñ', 'Ñ':
			return Spanish, true
		case 'á', 'é', 'í', 'ó', 'ú', 'Á', 'É', 'Í', 'Ó', 'Ú':
			es++
		}
	}
	for _, w := range words(fold(text)) {
		if spanishWords[w] {
			es++
		}
		if englishWords[w] {
			en++
		}
	}
	switch {
	case es > en:
		return Spanish, true
	case en > es:
		return English, true
	}
	return "", false
}

// detectInput detects the language of the current message, else of the
// customer's latest message in the history that tells; ok is false when
// none does.
func detectInput(in Input) (lang string, ok bool) {
	if l, ok := detect(in.Text); ok {
		return l, true
	}
	for i := len(in.History) - 1; i >= 0; i-- {
		if t := in.History[i]; t.Role == RoleUser {
			if l, ok := detect(t.Text); ok {
				return l, true
			}
		}
	}
	return "", false
}

// Word lists of DetectLanguage, folded (see fold). Words common to both
// languages ("no", "me", "a", "hotel", "ok") are in neither.
var (
	spanishWords = set(`hola buenas buenos dias tardes noches saludos gracias
		adios chao chau que como donde cuando cuanto cuanta cuantos cual quien
		por para porque favor quiero quisiera necesito puedo puede pueden tiene
		tienen tienes hay el la los las un una unos unas del al lo le les mi mis
		tu su sus nos yo usted ustedes es esta estan estoy eso este esto
		esa ese y o pero con sin de en se muy mas tambien ya hora horario
		abren cierran abierto precio precios cuesta vale direccion telefono
		pagina ayuda hablar persona ahora hoy manana ser hacer si bien`)
	englishWords = set(`hi hello hey morning afternoon evening thanks thank
		thx bye goodbye what how where when which who why is are was were am do
		does did can could would should will want need i you your my we our
		they it its this that these those the an of and or but with without
		for to from in on at by please there here have has open opening close
		closing hours price prices cost much many help talk speak get know
		address phone website today tomorrow now yes good`)
)

func set(list string) map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(list) {
		m[w] = true
	}
	return m
}

// fold lowercases s, removes the accents of Spanish and other Latin
// letters (á→a, ü→u, ñ→n…), and turns every run of characters that are not
// letters or digits into one space, trimmed: "¿A qué HORA abren?" becomes
// "a que hora abren". Keywords and regex patterns match folded text.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		r = unicode.ToLower(r)
		if f, ok := accents[r]; ok {
			r = f
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	return b.String()
}

var accents = map[rune]rune{
	'á': 'a', 'à': 'a', 'â': 'a', 'ä': 'a', 'ã': 'a',
	'é': 'e', 'è': 'e', 'ê': 'e', 'ë': 'e',
	'í': 'i', 'ì': 'i', 'î': 'i', 'ï': 'i',
	'ó': 'o', 'ò': 'o', 'ô': 'o', 'ö': 'o', 'õ': 'o',
	'ú': 'u', 'ù': 'u', 'û': 'u', 'ü': 'u',
	'ñ': 'n', 'ç': 'c',
}

// words splits folded text.
func words(folded string) []string { return strings.Fields(folded) }

// containsPhrase reports whether folded text contains the folded phrase
// on word boundaries.
func containsPhrase(text, phrase string) bool {
	if phrase == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(text[i:], phrase)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(phrase)
		if (j == 0 || text[j-1] == ' ') && (end == len(text) || text[end] == ' ') {
			return true
		}
		i = j + 1
	}
}
