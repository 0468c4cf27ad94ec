package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits of the Graph API on interactive and text messages, in characters.
const (
	MaxTextBody       = 4096 // text.body; also interactive.body.text of a list
	MaxButtonsBody    = 1024 // interactive.body.text with reply buttons
	MaxButtons        = 3
	MaxButtonTitle    = 20
	MaxButtonID       = 256
	MaxListButton     = 20
	MaxListSections   = 10
	MaxListRows       = 10 // in all sections together
	MaxSectionTitle   = 24
	MaxRowTitle       = 24
	MaxRowDescription = 72
	MaxRowID          = 200
)

// Message returns the Graph API body for r, as schemas.SendCommand.Message
// takes it (no messaging_product, no recipient): a "text" message, or an
// "interactive" one of type "button" when r has Buttons, "list" when it has
// a List. The body text is cut at the Graph API's limit (MaxTextBody,
// MaxButtonsBody) on a rune boundary; text with a link gets
// preview_url. It returns nil and no error for a Reply with nothing to
// send, and an error for buttons or a list outside the limits.
func (r Reply) Message() (json.RawMessage, error) {
	switch {
	case len(r.Buttons) > 0 && r.List != nil:
		return nil, errors.New("cannot build the message: both buttons and a list")
	case len(r.Buttons) > 0:
		if err := checkButtons(r.Buttons); err != nil {
			return nil, fmt.Errorf("cannot build the message: %w", err)
		}
		if strings.TrimSpace(r.Text) == "" {
			return nil, errors.New("cannot build the message: reply buttons without text")
		}
		m := graphInteractive{Type: "interactive"}
		m.Interactive.Type = "button"
		m.Interactive.Body.Text = cut(r.Text, MaxButtonsBody)
		for _, b := range r.Buttons {
			gb := graphButton{Type: "reply"}
			gb.Reply.ID, gb.Reply.Title = b.ID, b.Title
			m.Interactive.Action.Buttons = append(m.Interactive.Action.Buttons, gb)
		}
		return json.Marshal(m)
	case r.List != nil:
		if err := checkList(r.List); err != nil {
			return nil, fmt.Errorf("cannot build the message: %w", err)
		}
		if strings.TrimSpace(r.Text) == "" {
			return nil, errors.New("cannot build the message: a list without text")
		}
		m := graphInteractive{Type: "interactive"}
		m.Interactive.Type = "list"
		m.Interactive.Body.Text = cut(r.Text, MaxTextBody)
		m.Interactive.Action.Button = r.List.Button
		m.Interactive.Action.Sections = r.List.Sections
		return json.Marshal(m)
	case strings.TrimSpace(r.Text) == "":
		return nil, nil
	}
	var m graphText
	m.Type = "text"
	m.Text.Body = cut(r.Text, MaxTextBody)
	m.Text.PreviewURL = strings.Contains(m.Text.Body, "https://") || strings.Contains(m.Text.Body, "http://")
	return json.Marshal(m)
}

type graphText struct {
	Type string `json:"type"`
	Text struct {
		PreviewURL bool   `json:"preview_url,omitzero"`
		Body       string `json:"body"`
	} `json:"text"`
}

type graphInteractive struct {
	Type        string `json:"type"`
	Interactive struct {
		Type string `json:"type"`
		Body struct {
			Text string `json:"text"`
		} `json:"body"`
		Action struct {
			Buttons  []graphButton `json:"buttons,omitzero"`
			Button   string        `json:"button,omitzero"`
			Sections []Section     `json:"sections,omitzero"`
		} `json:"action"`
	} `json:"interactive"`
}

type graphButton struct {
	Type  string `json:"type"`
	Reply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"reply"`
}

// cut returns s trimmed and cut to at most n runes.
func cut(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if n == 0 {
			i = j
			break
		}
		n--
	}
	return s[:i]
}

func checkButtons(bs []Button) error {
	if len(bs) > MaxButtons {
		return fmt.Errorf("%d buttons, at most %d", len(bs), MaxButtons)
	}
	var ids []string
	for _, b := range bs {
		if err := checkField("button title", b.Title, MaxButtonTitle); err != nil {
			return err
		}
		if err := checkField("button id", b.ID, MaxButtonID); err != nil {
			return err
		}
		if slices.Contains(ids, b.ID) {
			return fmt.Errorf("button id %q used twice", b.ID)
		}
		ids = append(ids, b.ID)
	}
	return nil
}

func checkList(l *List) error {
	if err := checkField("list button", l.Button, MaxListButton); err != nil {
		return err
	}
	if len(l.Sections) == 0 || len(l.Sections) > MaxListSections {
		return fmt.Errorf("%d sections, want 1 to %d", len(l.Sections), MaxListSections)
	}
	var ids []string
	for _, s := range l.Sections {
		if len(l.Sections) > 1 || s.Title != "" {
			if err := checkField("section title", s.Title, MaxSectionTitle); err != nil {
				return err
			}
		}
		if len(s.Rows) == 0 {
			return fmt.Errorf("section %q has no rows", s.Title)
		}
		for _, row := range s.Rows {
			if err := checkField("row title", row.Title, MaxRowTitle); err != nil {
				return err
			}
			if err := checkField("row id", row.ID, MaxRowID); err != nil {
				return err
			}
			if utf8.RuneCountInString(row.Description) > MaxRowDescription {
				return fmt.Errorf("row description %q is longer than %d characters", row.Description, MaxRowDescription)
			}
			if slices.Contains(ids, row.ID) {
				return fmt.Errorf("row id %q used twice", row.ID)
			}
			ids = append(ids, row.ID)
		}
	}
	if len(ids) > MaxListRows {
		return fmt.Errorf("%d rows, at most %d", len(ids), MaxListRows)
	}
	return nil
}

func checkField(what, s string, max int) error {
	switch n := utf8.RuneCountInString(s); {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("empty %s", what)
	case n > max:
		return fmt.Errorf("%s %q is longer than %d characters", what, s, max)
	}
	return nil
}

// clone returns a deep copy of l.
func (l *List) clone() *List {
	if l == nil {
		return nil
	}
	c := &List{Button: l.Button, Sections: slices.Clone(l.Sections)}
	for i := range c.Sections {
		c.Sections[i].Rows = slices.Clone(c.Sections[i].Rows)
	}
	return c
}
