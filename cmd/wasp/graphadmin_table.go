package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"wasp/sender"
)

// tabular is the result of a `wasp admin` command: rows of cells printed
// in aligned columns, or the value itself as JSON with --json.
type tabular interface {
	rows() [][]string
}

// writeResult prints r as a table, or as one indented JSON document.
func writeResult(w io.Writer, r tabular, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range r.rows() {
		for i, c := range row {
			row[i] = cellReplacer.Replace(c)
			if row[i] == "" {
				row[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// cellReplacer keeps a value on its line and in its column.
var cellReplacer = strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ")

// done is the result of a call Meta answers {"success":true}: a sentence
// in the terminal, {"success":true} in JSON.
type done string

func (d done) rows() [][]string { return [][]string{{string(d)}} }

func (d done) MarshalJSON() ([]byte, error) { return []byte(`{"success":true}`), nil }

// phoneTable is the result of phone list.
type phoneTable []sender.PhoneNumber

func (t phoneTable) rows() [][]string {
	rows := [][]string{{"ID", "NUMBER", "VERIFIED NAME", "QUALITY", "MESSAGING LIMIT", "THROUGHPUT", "STATUS", "NAME STATUS", "CODE VERIFICATION"}}
	for _, n := range t {
		rows = append(rows, []string{n.ID, n.DisplayPhoneNumber, n.VerifiedName, n.QualityRating, n.MessagingLimit,
			n.Throughput.Level, n.Status, n.NameStatus, n.CodeVerificationStatus})
	}
	return rows
}

// profileView is the result of profile get.
type profileView sender.BusinessProfile

func (p *profileView) rows() [][]string {
	return [][]string{
		{"about", p.About},
		{"address", p.Address},
		{"description", p.Description},
		{"email", p.Email},
		{"websites", strings.Join(p.Websites, " ")},
		{"vertical", p.Vertical},
		{"profile picture", p.ProfilePictureURL},
	}
}

// appsTable is the result of webhook status.
type appsTable []sender.SubscribedApp

func (t appsTable) rows() [][]string {
	if len(t) == 0 {
		return [][]string{{"no app is subscribed to the WABA's webhooks (wasp admin webhook subscribe)"}}
	}
	rows := [][]string{{"APP ID", "APP", "CALLBACK OVERRIDE"}}
	for _, a := range t {
		rows = append(rows, []string{a.App.ID, a.App.Name, a.OverrideCallbackURI})
	}
	return rows
}

// templatesTable is the result of templates list.
type templatesTable []sender.MessageTemplate

func (t templatesTable) rows() [][]string {
	rows := [][]string{{"ID", "NAME", "LANGUAGE", "CATEGORY", "STATUS", "QUALITY"}}
	for _, m := range t {
		quality := ""
		if m.QualityScore != nil {
			quality = m.QualityScore.Score
		}
		rows = append(rows, []string{m.ID, m.Name, m.Language, m.Category, m.Status, quality})
	}
	return rows
}

// createdTemplate is the result of templates create.
type createdTemplate sender.CreatedTemplate

func (c *createdTemplate) rows() [][]string {
	return [][]string{{"ID", "STATUS", "CATEGORY"}, {c.ID, c.Status, c.Category}}
}

// mediaView is the result of media get.
type mediaView sender.MediaInfo

func (m *mediaView) rows() [][]string {
	return [][]string{
		{"id", m.ID},
		{"mime type", m.MimeType},
		{"size", m.FileSize.String() + " bytes"},
		{"sha256", m.SHA256},
		{"url", m.URL + " (valid 5 minutes, with the token)"},
	}
}

// mediaFile is the result of media upload and media download.
type mediaFile struct {
	ID       string `json:"id"`
	File     string `json:"file"`
	MimeType string `json:"mime_type"`
	Size     int64  `json:"file_size"`
}

func (m *mediaFile) rows() [][]string {
	return [][]string{
		{"id", m.ID},
		{"file", m.File},
		{"mime type", m.MimeType},
		{"size", fmt.Sprintf("%d bytes", m.Size)},
	}
}
