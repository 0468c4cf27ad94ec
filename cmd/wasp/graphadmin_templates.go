package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"wasp/sender"
)

// The templates commands of `wasp admin`.

// templateStatuses are the statuses templates list --status takes.
var templateStatuses = []string{"APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL",
	"PENDING_DELETION", "DELETED", "ARCHIVED", "LIMIT_EXCEEDED"}

func templatesList(fs *flag.FlagSet) adminAction {
	status := fs.String("status", "", "only the templates in this status: "+strings.Join(templateStatuses, ", "))
	name := fs.String("name", "", "only the templates whose name contains this")
	limit := fs.Int("limit", 100, "the most templates listed")
	return adminAction{
		check: func() error {
			*status = strings.ToUpper(*status)
			switch {
			case *status != "" && !slices.Contains(templateStatuses, *status):
				return badInput("--status must be one of %s (got %q)", strings.Join(templateStatuses, ", "), *status)
			case *name != "" && !templateNameRE.MatchString(*name):
				return badInput("--name must be lowercase letters, digits and _ (got %q)", *name)
			case *limit < 1:
				return badInput("--limit must be at least 1 (got %d)", *limit)
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			ts, err := listTemplates(ctx, t, sender.TemplateQuery{Name: *name, Status: *status}, *limit)
			return templatesTable(nonNil(ts)), err
		},
	}
}

// listTemplates reads pages of templates until it has limit or there are
// no more.
func listTemplates(ctx context.Context, t *adminTarget, q sender.TemplateQuery, limit int) ([]sender.MessageTemplate, error) {
	var all []sender.MessageTemplate
	for len(all) < limit {
		q.Limit = min(limit-len(all), 100)
		p, err := t.graph.Templates(ctx, t.token, t.wabaID, q)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Data...)
		if p.Paging.Next == "" || p.Paging.Cursors.After == "" || len(p.Data) == 0 {
			break
		}
		q.After = p.Paging.Cursors.After
	}
	return all[:min(len(all), limit)], nil
}

func templatesCreate(fs *flag.FlagSet) adminAction {
	file := fs.String("file", "", "the template definition, JSON (.json) or YAML (.yaml, .yml)")
	var tpl sender.MessageTemplate
	return adminAction{
		check: func() (err error) {
			tpl, err = readTemplate(*file)
			return err
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			c, err := t.graph.CreateTemplate(ctx, t.token, t.wabaID, tpl)
			if err != nil {
				return nil, err
			}
			return (*createdTemplate)(c), nil
		},
	}
}

var templateNameRE = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)

// readTemplate reads a template definition from a JSON or YAML file with
// the fields of Meta's create call, and checks it.
func readTemplate(path string) (sender.MessageTemplate, error) {
	var t sender.MessageTemplate
	if path == "" {
		return t, badInput("--file is required: a template definition in JSON or YAML")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return t, badInput("cannot read --file: %v", err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
	case ".yaml", ".yml":
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return t, badInput("--file %s is not YAML: %v", path, err)
		}
		if data, err = json.Marshal(doc); err != nil {
			return t, badInput("--file %s is not a template definition: %v", path, err)
		}
	default:
		return t, badInput("--file must end in .json, .yaml or .yml (got %q)", filepath.Base(path))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, badInput("--file %s is not a template definition: %v", path, err)
	}
	if err := checkTemplate(t); err != nil {
		return t, badInput("--file %s: %v", path, err)
	}
	return t, nil
}

// checkTemplate checks a definition against Meta's rules
// (WHATSAPP-CLOUD-API.md §4.5, §6.5), naming the field that breaks one.
func checkTemplate(t sender.MessageTemplate) error {
	switch {
	case !templateNameRE.MatchString(t.Name):
		return fmt.Errorf("name %q must be 1 to 512 lowercase letters, digits and _", t.Name)
	case !slices.Contains([]string{"MARKETING", "UTILITY", "AUTHENTICATION"}, t.Category):
		return fmt.Errorf("category %q must be MARKETING, UTILITY or AUTHENTICATION", t.Category)
	case !localeRE.MatchString(t.Language):
		return fmt.Errorf("language %q must be a locale such as en_US", t.Language)
	case !slices.Contains([]string{"", "POSITIONAL", "NAMED"}, t.ParameterFormat):
		return fmt.Errorf("parameter_format %q must be POSITIONAL or NAMED", t.ParameterFormat)
	}
	bodies := 0
	for i, c := range t.Components {
		if err := checkComponent(c); err != nil {
			return fmt.Errorf("components[%d] %w", i, err)
		}
		if c.Type == "BODY" {
			bodies++
		}
	}
	if bodies != 1 {
		return fmt.Errorf("components has %d BODY components; a template has one", bodies)
	}
	return nil
}

var headerFormats = []string{"TEXT", "IMAGE", "VIDEO", "GIF", "DOCUMENT", "LOCATION"}

func checkComponent(c sender.TemplateComponentDef) error {
	switch c.Type {
	case "HEADER":
		if !slices.Contains(headerFormats, c.Format) {
			return fmt.Errorf("(HEADER) format %q must be one of %s", c.Format, strings.Join(headerFormats, ", "))
		}
		if c.Format == "TEXT" {
			return checkTemplateText("HEADER", c.Text, 60)
		}
	case "BODY":
		return checkTemplateText("BODY", c.Text, 1024)
	case "FOOTER":
		return checkTemplateText("FOOTER", c.Text, 60)
	case "BUTTONS":
		if len(c.Buttons) == 0 {
			return errors.New("(BUTTONS) has no buttons")
		}
		for j, b := range c.Buttons {
			if b.Type == "" {
				return fmt.Errorf("(BUTTONS) buttons[%d] has no type", j)
			}
		}
	default:
		return fmt.Errorf("type %q must be HEADER, BODY, FOOTER or BUTTONS", c.Type)
	}
	return nil
}

func checkTemplateText(component, text string, limit int) error {
	if n := utf8.RuneCountInString(text); n == 0 || n > limit {
		return fmt.Errorf("(%s) text must be 1 to %d characters (got %d)", component, limit, n)
	}
	return nil
}

func templatesDelete(fs *flag.FlagSet) adminAction {
	name := fs.String("name", "", "the template's name")
	id := fs.String("id", "", "delete only the template with this id (one language)")
	return adminAction{
		check: func() error {
			if !templateNameRE.MatchString(*name) {
				return badInput("--name must be a template name: lowercase letters, digits and _ (got %q)", *name)
			}
			if *id != "" {
				return checkGraphID("id", *id)
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			err := t.graph.DeleteTemplate(ctx, t.token, t.wabaID, *name, *id)
			if *id != "" {
				return done(fmt.Sprintf("template %s (id %s) deleted", *name, *id)), err
			}
			return done("template " + *name + " deleted in every language"), err
		},
	}
}
