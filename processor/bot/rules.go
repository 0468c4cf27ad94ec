package bot

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

// RulesConfig configures the rules bot. The zero value is the built-in
// Spanish and English bot.
type RulesConfig struct {
	// Intents in order: when two match equally well the earlier wins. Nil
	// means the built-in ones (rules.default.yaml). The intent named
	// "fallback" answers when nothing matches (the built-in fallback when
	// there is none); the one named "human", if any, answers keyword
	// handoffs.
	Intents []Intent
	// DefaultLanguage answers when the customer's language is unclear.
	// Empty means "es".
	DefaultLanguage string
	// MinConfidence: a message whose best match scores below it, or that
	// matches nothing, is unclear; two unclear messages in a row (the
	// customer's previous one, from the history, and this one) hand off
	// with ReasonLowConfidence. Zero counts only messages that match
	// nothing; a negative value turns the rule off. See Rules for the
	// score.
	MinConfidence float64
	// Handoff keywords and message; the zero value is the built-in one.
	Handoff HandoffRules
}

// Intent is one thing a customer may want, and the answer to it. The maps
// are keyed by language ("es", "en", …).
type Intent struct {
	Name string
	// Patterns are keywords or phrases matched on word boundaries after
	// folding (lowercase, no accents, punctuation as spaces: "¿Dónde
	// están?" is "donde estan"), or "re:" and a Go regexp matched against
	// the folded text. Patterns of every language are tried on every
	// message. An intent without patterns is reached only by a tapped
	// button or list row whose id is its name.
	Patterns map[string][]string
	// Answers are Go text/templates executed with .Business (Business)
	// and .UserName; the result is trimmed.
	Answers map[string]string
	// Buttons or List go with the answer of the same language.
	Buttons map[string][]Button
	List    map[string]*List
	// Handoff passes the conversation to a person after answering; without
	// an answer the handoff message (HandoffRules.Message) is said.
	Handoff bool
}

//go:embed rules.default.yaml
var defaultRules []byte

// DefaultRulesConfig returns the built-in configuration: the intents of
// rules.default.yaml (greeting, hours, location, contact, website,
// catalog, help, thanks, goodbye, human, fallback) and the default handoff
// rules.
func DefaultRulesConfig() RulesConfig {
	cfg, err := mergeRules(RulesConfig{}, defaultRules)
	if err != nil {
		panic("bot: rules.default.yaml: " + err.Error())
	}
	return cfg
}

// LoadRules reads a tenant's rules file (YAML, the shape of
// rules.default.yaml; see testdata/rules.example.yaml) merged over
// DefaultRulesConfig: an intent with a built-in name replaces, per
// language, the patterns, answers, buttons or list it sets (setting
// buttons for a language removes that language's list and the other way
// round), and `disabled: true` removes it; other intents are added after
// the built-in ones. Handoff keywords and messages replace the built-in
// ones per language. Unknown keys are errors. NewRules checks the rest.
func LoadRules(yamlBytes []byte) (RulesConfig, error) {
	return mergeRules(DefaultRulesConfig(), yamlBytes)
}

type rulesFile struct {
	DefaultLanguage string       `yaml:"default_language"`
	MinConfidence   *float64     `yaml:"min_confidence"`
	Handoff         HandoffRules `yaml:"handoff"`
	Intents         []intentFile `yaml:"intents"`
}

type intentFile struct {
	Name     string              `yaml:"name"`
	Patterns map[string][]string `yaml:"patterns"`
	Answers  map[string]string   `yaml:"answers"`
	Buttons  map[string][]Button `yaml:"buttons"`
	List     map[string]*List    `yaml:"list"`
	Handoff  *bool               `yaml:"handoff"`
	Disabled bool                `yaml:"disabled"`
}

func mergeRules(cfg RulesConfig, b []byte) (RulesConfig, error) {
	var f rulesFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return RulesConfig{}, fmt.Errorf("cannot read rules: %w", err)
	}
	if f.DefaultLanguage != "" {
		cfg.DefaultLanguage = f.DefaultLanguage
	}
	if f.MinConfidence != nil {
		cfg.MinConfidence = *f.MinConfidence
	}
	if f.Handoff.Keywords != nil {
		kw := cfg.Handoff.Keywords
		if kw == nil {
			kw = DefaultHandoffKeywords()
		}
		cfg.Handoff.Keywords = merged(kw, f.Handoff.Keywords)
	}
	if f.Handoff.Message != nil {
		cfg.Handoff.Message = merged(cfg.Handoff.Message, f.Handoff.Message)
	}
	intents := slices.Clone(cfg.Intents)
	for _, fi := range f.Intents {
		if fi.Name == "" {
			return RulesConfig{}, errors.New("cannot read rules: an intent has no name")
		}
		i := slices.IndexFunc(intents, func(in Intent) bool { return in.Name == fi.Name })
		switch {
		case i < 0 && fi.Disabled:
			continue
		case i < 0:
			intents = append(intents, Intent{Name: fi.Name})
			i = len(intents) - 1
		case fi.Disabled:
			intents = slices.Delete(intents, i, i+1)
			continue
		}
		in := &intents[i]
		in.Patterns = merged(in.Patterns, fi.Patterns)
		in.Answers = merged(in.Answers, fi.Answers)
		in.Buttons = merged(in.Buttons, fi.Buttons)
		in.List = merged(in.List, fi.List)
		for lang := range fi.Buttons {
			delete(in.List, lang)
		}
		for lang := range fi.List {
			delete(in.Buttons, lang)
		}
		if fi.Handoff != nil {
			in.Handoff = *fi.Handoff
		}
	}
	cfg.Intents = intents
	return cfg, nil
}

// merged returns a copy of base with over's entries set.
func merged[V any](base, over map[string]V) map[string]V {
	if base == nil && over == nil {
		return nil
	}
	m := maps.Clone(base)
	if m == nil {
		m = make(map[string]V)
	}
	maps.Copy(m, over)
	return m
}

// Rules is the rules bot.
//
// For each message, in order: a reaction, system message, edit or revoke
// gets an empty Reply; a tapped button or list row whose id names an
// intent gets that intent (confidence 1, in the language of the button); a
// handoff keyword hands off; a request_welcome gets the greeting;
// otherwise every intent's patterns are tried and the best score wins.
// The score is the share of the message's words that the intent's
// matching patterns cover, counting the small words of either language
// ("a", "que", "the", "is", "quiero"…) only when a pattern covers them:
// "¿A qué hora abren?" scores 1 for hours (its pattern "a que hora" and
// "abren"), "Hola, ¿a qué hora abren?" 0.8 (hola is not an hours word),
// "¿cuánto cuesta el pan?" 2/3 for catalog. Nothing matching gets the
// fallback intent; see RulesConfig.MinConfidence for the low-confidence
// handoff. The answer is in the customer's language (DetectLanguage on
// this message, else on their previous ones; when none tells, the
// language of the matching pattern), else the default.
type Rules struct {
	def      string
	minConf  float64
	handoff  *handoff
	intents  []*intent
	byName   map[string]*intent
	fallback *intent
	titles   map[[2]string]string // {id, folded title} of buttons and rows → language
}

var _ Bot = (*Rules)(nil)

type intent struct {
	Intent
	patterns []pattern
	answers  map[string]*template.Template
}

type pattern struct {
	lang   string
	phrase []string // folded words
	re     *regexp.Regexp
}

// answerData is what answer templates see.
type answerData struct {
	Business Business
	UserName string
}

// NewRules checks cfg and builds the rules bot.
func NewRules(cfg RulesConfig) (*Rules, error) {
	if cfg.DefaultLanguage == "" {
		cfg.DefaultLanguage = Spanish
	}
	def := DefaultRulesConfig()
	if cfg.Intents == nil {
		cfg.Intents = def.Intents
	}
	if !slices.ContainsFunc(cfg.Intents, func(in Intent) bool { return in.Name == IntentFallback }) {
		i := slices.IndexFunc(def.Intents, func(in Intent) bool { return in.Name == IntentFallback })
		cfg.Intents = append(slices.Clone(cfg.Intents), def.Intents[i])
	}
	h, err := newHandoff(cfg.Handoff)
	if err != nil {
		return nil, err
	}
	r := &Rules{
		def:     cfg.DefaultLanguage,
		minConf: cfg.MinConfidence,
		handoff: h,
		byName:  make(map[string]*intent),
		titles:  make(map[[2]string]string),
	}
	for _, in := range cfg.Intents {
		it, err := compileIntent(in)
		if err != nil {
			return nil, err
		}
		if r.byName[in.Name] != nil {
			return nil, fmt.Errorf("cannot use intent %q: the name is used twice", in.Name)
		}
		r.byName[in.Name] = it
		r.intents = append(r.intents, it)
		for lang, bs := range in.Buttons {
			for _, b := range bs {
				r.titles[[2]string{b.ID, fold(b.Title)}] = lang
			}
		}
		for lang, l := range in.List {
			if l == nil {
				continue
			}
			for _, s := range l.Sections {
				for _, row := range s.Rows {
					r.titles[[2]string{row.ID, fold(row.Title)}] = lang
				}
			}
		}
	}
	r.fallback = r.byName[IntentFallback]
	return r, nil
}

func compileIntent(in Intent) (*intent, error) {
	if in.Name == "" {
		return nil, errors.New("cannot use an intent without a name")
	}
	it := &intent{Intent: in, answers: make(map[string]*template.Template)}
	// Our own copies of what Reply hands out.
	it.Buttons = make(map[string][]Button, len(in.Buttons))
	for lang, bs := range in.Buttons {
		it.Buttons[lang] = slices.Clone(bs)
	}
	it.List = make(map[string]*List, len(in.List))
	for lang, l := range in.List {
		it.List[lang] = l.clone()
	}
	for _, lang := range slices.Sorted(maps.Keys(in.Patterns)) {
		for _, p := range in.Patterns[lang] {
			if expr, ok := strings.CutPrefix(p, "re:"); ok {
				re, err := regexp.Compile(expr)
				if err != nil {
					return nil, fmt.Errorf("cannot use pattern %q of intent %q (%s): %w", p, in.Name, lang, err)
				}
				it.patterns = append(it.patterns, pattern{lang: lang, re: re})
				continue
			}
			w := words(fold(p))
			if len(w) == 0 {
				return nil, fmt.Errorf("cannot use pattern %q of intent %q (%s): no letters or digits", p, in.Name, lang)
			}
			it.patterns = append(it.patterns, pattern{lang: lang, phrase: w})
		}
	}
	for lang, a := range in.Answers {
		t, err := template.New(in.Name + "/" + lang).Option("missingkey=error").Parse(a)
		if err == nil {
			err = t.Execute(io.Discard, answerData{})
		}
		if err != nil {
			return nil, fmt.Errorf("cannot use the answer of intent %q (%s): %w", in.Name, lang, err)
		}
		it.answers[lang] = t
	}
	if len(in.Answers) == 0 && !in.Handoff {
		return nil, fmt.Errorf("cannot use intent %q: no answer (add answers, or handoff: true)", in.Name)
	}
	for lang, bs := range in.Buttons {
		if err := checkButtons(bs); err != nil {
			return nil, fmt.Errorf("cannot use the buttons of intent %q (%s): %w", in.Name, lang, err)
		}
		if in.List[lang] != nil && len(bs) > 0 {
			return nil, fmt.Errorf("cannot use intent %q (%s): both buttons and a list", in.Name, lang)
		}
	}
	for lang, l := range in.List {
		if l == nil {
			continue
		}
		if err := checkList(l); err != nil {
			return nil, fmt.Errorf("cannot use the list of intent %q (%s): %w", in.Name, lang, err)
		}
	}
	return it, nil
}

// Reply answers in; see Rules.
func (r *Rules) Reply(ctx context.Context, in Input) (Reply, error) {
	start := time.Now()
	rep, err := r.reply(in)
	rep.Latency = time.Since(start)
	return rep, err
}

func (r *Rules) reply(in Input) (Reply, error) {
	if Ignored(in.Type) {
		rulesIgnored.Inc()
		return Reply{Intent: IntentIgnored}, nil
	}
	lang, sure := detectInput(in)
	if it := r.byName[in.ReplyID]; in.ReplyID != "" && it != nil {
		// The language of the tapped button, if it is one of ours.
		l, ok := r.titles[[2]string{in.ReplyID, fold(in.Text)}]
		if !ok {
			l = r.lang(lang, sure, "")
		}
		return r.answer(it, in, l, 1)
	}
	folded := fold(in.Text)
	if r.handoff.match(folded) {
		rulesKeyword.Inc()
		return r.handoffReply(in, r.lang(lang, sure, ""), IntentHuman, ReasonKeyword, 1)
	}
	if in.Type == "request_welcome" {
		if it := r.byName["greeting"]; it != nil {
			return r.answer(it, in, r.lang(lang, sure, ""), 1)
		}
	}
	best, score, plang := r.match(folded)
	if r.unclear(best, score) && r.unclearBefore(in.History) {
		rulesLowConfidence.Inc()
		name := IntentFallback
		if best != nil {
			name = best.Name
		}
		rep := Reply{Intent: name, Language: r.lang(lang, sure, plang), Confidence: score}
		rep.Text = pick(r.handoff.message, rep.Language, r.def)
		rep.Handoff, rep.HandoffReason = true, ReasonLowConfidence
		return rep, nil
	}
	if best == nil {
		return r.answer(r.fallback, in, r.lang(lang, sure, ""), 0)
	}
	return r.answer(best, in, r.lang(lang, sure, plang), score)
}

// handoffReply answers a keyword handoff: with the "human" intent's
// answer if it has one, else the handoff message.
func (r *Rules) handoffReply(in Input, lang, intentName, reason string, score float64) (Reply, error) {
	var rep Reply
	if it := r.byName[IntentHuman]; it != nil && len(it.answers) > 0 {
		var err error
		if rep, err = r.render(it, in, lang); err != nil {
			return Reply{}, err
		}
	} else {
		rep = Reply{Text: pick(r.handoff.message, lang, r.def), Language: lang}
	}
	rep.Intent, rep.Confidence = intentName, score
	rep.Handoff, rep.HandoffReason = true, reason
	return rep, nil
}

// lang is the language to answer in: the customer's if known, else the
// matching pattern's, else the default.
func (r *Rules) lang(detected string, sure bool, patternLang string) string {
	switch {
	case sure:
		return detected
	case patternLang != "":
		return patternLang
	}
	return r.def
}

// answer answers with it in language want, or the closest it has.
func (r *Rules) answer(it *intent, in Input, want string, score float64) (Reply, error) {
	if it.Handoff {
		rulesIntentHandoff.Inc()
		if len(it.answers) == 0 {
			return r.handoffReply(in, want, it.Name, ReasonIntent, score)
		}
	}
	rep, err := r.render(it, in, want)
	if err != nil {
		return Reply{}, err
	}
	rep.Intent, rep.Confidence = it.Name, score
	switch {
	case it.Handoff:
		rep.Handoff, rep.HandoffReason = true, ReasonIntent
	case it == r.fallback:
		rulesFallback.Inc()
	default:
		rulesAnswer.Inc()
	}
	return rep, nil
}

// render executes it's answer, with its buttons or list, in language
// want or the closest it has.
func (r *Rules) render(it *intent, in Input, want string) (Reply, error) {
	lang := pickLang(it.answers, want, r.def)
	var b strings.Builder
	if err := it.answers[lang].Execute(&b, answerData{Business: in.Business, UserName: in.UserName}); err != nil {
		return Reply{}, fmt.Errorf("cannot answer intent %q (%s): %w", it.Name, lang, err)
	}
	rep := Reply{Text: strings.TrimSpace(b.String()), Language: lang}
	if rep.Text == "" {
		return Reply{}, fmt.Errorf("cannot answer intent %q (%s): the answer is empty", it.Name, lang)
	}
	rep.Buttons = slices.Clone(it.Buttons[lang])
	rep.List = it.List[lang].clone()
	return rep, nil
}

// pickLang is the language pick would choose from m's keys.
func pickLang[V any](m map[string]V, lang, def string) string {
	for _, l := range []string{lang, def, Spanish, English} {
		if _, ok := m[l]; ok {
			return l
		}
	}
	return slices.Sorted(maps.Keys(m))[0]
}

// match returns the best intent for folded text, its score and the
// language of its first matching pattern; nil when nothing matches.
func (r *Rules) match(folded string) (best *intent, score float64, lang string) {
	toks := words(folded)
	if len(toks) == 0 {
		return nil, 0, ""
	}
	starts := make([]int, len(toks))
	for i, off := 0, 0; i < len(toks); i++ {
		starts[i] = off
		off += len(toks[i]) + 1
	}
	covered := make([]bool, len(toks))
	for _, it := range r.intents {
		clear(covered)
		matched, plang := false, ""
		for _, p := range it.patterns {
			if p.cover(folded, toks, starts, covered) && !matched {
				matched, plang = true, p.lang
			}
		}
		if !matched {
			continue
		}
		n, d := 0, 0
		for i, t := range toks {
			switch {
			case covered[i]:
				n++
				d++
			case !smallWords[t]:
				d++
			}
		}
		s := 0.0
		if d > 0 {
			s = float64(n) / float64(d)
		}
		if best == nil || s > score {
			best, score, lang = it, s, plang
		}
	}
	return best, score, lang
}

// cover marks the tokens p matches and reports whether it matched.
func (p pattern) cover(folded string, toks []string, starts []int, covered []bool) bool {
	matched := false
	if p.re != nil {
		for _, m := range p.re.FindAllStringIndex(folded, -1) {
			matched = true
			for i, s := range starts {
				if s < m[1] && s+len(toks[i]) > m[0] {
					covered[i] = true
				}
			}
		}
		return matched
	}
	for i := 0; i+len(p.phrase) <= len(toks); i++ {
		if slices.Equal(toks[i:i+len(p.phrase)], p.phrase) {
			matched = true
			for j := range p.phrase {
				covered[i+j] = true
			}
		}
	}
	return matched
}

// unclear reports whether a message whose best match is best, scoring
// score, counts toward the low-confidence handoff.
func (r *Rules) unclear(best *intent, score float64) bool {
	return r.minConf >= 0 && (best == nil || score < r.minConf)
}

// unclearBefore reports whether the customer's previous text message in
// history was unclear too.
func (r *Rules) unclearBefore(history []Turn) bool {
	for i := len(history) - 1; i >= 0; i-- {
		t := history[i]
		if t.Role != RoleUser || strings.TrimSpace(t.Text) == "" {
			continue
		}
		f := fold(t.Text)
		if r.handoff.match(f) {
			return false
		}
		best, score, _ := r.match(f)
		return r.unclear(best, score)
	}
	return false
}

// smallWords of either language count toward a score only when a pattern
// covers them.
var smallWords = set(`a al de del el la las lo los le les un una unos unas
	y o u e en con por para que se su sus mi mis tu tus me te nos es son
	esta estan estoy hay muy mas pero como cual cuando donde yo usted
	ustedes si no ya ser estar tengo tienen tiene tienes quiero quisiera
	necesito saber puedo puede pueden podria favor porfa porfavor oye
	i you we they it an the of to for in on at is are am be do does can
	could would please want need know what when where how my your our and
	or but with there this that just so ok okay`)
