package main

import (
	"context"
	"flag"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"wasp/sender"
)

// The phone, profile and webhook commands of `wasp admin`.

var localeRE = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)

func phoneList(*flag.FlagSet) adminAction {
	return adminAction{run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		ns, err := t.graph.PhoneNumbers(ctx, t.token, t.wabaID, "")
		return phoneTable(nonNil(ns)), err
	}}
}

func phoneRequestCode(fs *flag.FlagSet) adminAction {
	method := fs.String("method", "SMS", "how Meta sends the code: SMS or VOICE")
	language := fs.String("language", "en_US", "the language of the message or call, a locale such as es_ES")
	return adminAction{
		check: func() error {
			*method = strings.ToUpper(*method)
			if *method != "SMS" && *method != "VOICE" {
				return badInput("--method must be SMS or VOICE (got %q)", *method)
			}
			if !localeRE.MatchString(*language) {
				return badInput("--language must be a locale such as en_US or es_ES (got %q)", *language)
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			err := t.graph.RequestCode(ctx, t.token, t.phoneID, *method, *language)
			return done(fmt.Sprintf("verification code requested for %s by %s in %s", t.phoneID, *method, *language)), err
		},
	}
}

// phoneSixDigits is a phone command whose one flag is 6 digits (a code,
// a PIN) passed to call, a GraphClient method; did says what was done to
// the number (%s).
func phoneSixDigits(name, usage string, call func(*sender.GraphClient, context.Context, string, string, string) error,
	did string) func(*flag.FlagSet) adminAction {
	return func(fs *flag.FlagSet) adminAction {
		v := fs.String(name, "", usage)
		return adminAction{
			check: func() error { return checkSixDigits(name, *v) },
			run: func(ctx context.Context, t *adminTarget) (tabular, error) {
				err := call(t.graph, ctx, t.token, t.phoneID, *v)
				return done(fmt.Sprintf(did, t.phoneID)), err
			},
		}
	}
}

var regionRE = regexp.MustCompile(`^[A-Z]{2}$`)

func phoneRegister(fs *flag.FlagSet) adminAction {
	pin := fs.String("pin", "", "the two-step verification PIN, 6 digits: the current one, or the one to set")
	region := fs.String("region", "", "keep the data at rest in this country (Local Storage), ISO code such as DE")
	return adminAction{
		check: func() error {
			*region = strings.ToUpper(*region)
			if *region != "" && !regionRE.MatchString(*region) {
				return badInput("--region must be a two-letter country code such as DE (got %q)", *region)
			}
			return checkSixDigits("pin", *pin)
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			err := t.graph.Register(ctx, t.token, t.phoneID, *pin, *region)
			msg := "phone number " + t.phoneID + " registered"
			if *region != "" {
				msg += ", its data stored in " + *region
			}
			return done(msg), err
		},
	}
}

func phoneDeregister(*flag.FlagSet) adminAction {
	return adminAction{run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		err := t.graph.Deregister(ctx, t.token, t.phoneID)
		return done("phone number " + t.phoneID + " deregistered"), err
	}}
}

func profileGet(*flag.FlagSet) adminAction {
	return adminAction{run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		p, err := t.graph.BusinessProfile(ctx, t.token, t.phoneID)
		if err != nil {
			return nil, err
		}
		return (*profileView)(p), nil
	}}
}

// verticals are the industries of a business profile
// (WHATSAPP-CLOUD-API.md §6.3).
var verticals = []string{
	"UNDEFINED", "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE", "GROCERY",
	"GOVT", "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL", "TRAVEL", "RESTAURANT", "NOT_A_BIZ",
}

// profileLimits are the most characters of each text field of a
// business profile (WHATSAPP-CLOUD-API.md §6.3).
var profileLimits = []struct {
	flag  string
	limit int
}{{"about", 139}, {"address", 256}, {"description", 512}, {"email", 128}}

// stringList is a flag that may be repeated.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ", ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func profileSet(fs *flag.FlagSet) adminAction {
	var p sender.BusinessProfile
	texts := map[string]*string{"about": &p.About, "address": &p.Address, "description": &p.Description, "email": &p.Email}
	for _, l := range profileLimits {
		fs.StringVar(texts[l.flag], l.flag, "", fmt.Sprintf("the profile's %s, up to %d characters", l.flag, l.limit))
	}
	fs.Var((*stringList)(&p.Websites), "website", "a website, an http(s) URL of up to 256 characters; repeat for the second")
	fs.StringVar(&p.Vertical, "vertical", "", "the industry: "+strings.Join(verticals, ", "))
	var changed []string
	return adminAction{
		check: func() error {
			fs.Visit(func(f *flag.Flag) {
				if _, ok := texts[f.Name]; ok || f.Name == "website" || f.Name == "vertical" {
					changed = append(changed, f.Name)
				}
			})
			if len(changed) == 0 {
				return badInput("nothing to set: give at least one of --about, --address, --description, --email, --website, --vertical")
			}
			return checkProfile(&p, texts)
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			err := t.graph.UpdateBusinessProfile(ctx, t.token, t.phoneID, p)
			return done("business profile of " + t.phoneID + " updated: " + strings.Join(changed, ", ")), err
		},
	}
}

// checkProfile checks the fields of p against Meta's limits; it makes
// Vertical upper case.
func checkProfile(p *sender.BusinessProfile, texts map[string]*string) error {
	for _, l := range profileLimits {
		if n := utf8.RuneCountInString(*texts[l.flag]); n > l.limit {
			return badInput("--%s must be at most %d characters (got %d)", l.flag, l.limit, n)
		}
	}
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
			return badInput("--email must be a plain address such as info@example.com (got %q)", p.Email)
		}
	}
	if len(p.Websites) > 2 {
		return badInput("--website can be given twice at most: a profile has up to 2 websites (got %d)", len(p.Websites))
	}
	for _, w := range p.Websites {
		if !isHTTPURL(w) || utf8.RuneCountInString(w) > 256 {
			return badInput("--website must be an http:// or https:// URL of up to 256 characters (got %q)", w)
		}
	}
	if p.Vertical != "" {
		p.Vertical = strings.ToUpper(p.Vertical)
		if !slices.Contains(verticals, p.Vertical) {
			return badInput("--vertical must be one of %s (got %q)", strings.Join(verticals, ", "), p.Vertical)
		}
	}
	if p.About == "" && p.Address == "" && p.Description == "" && p.Email == "" && len(p.Websites) == 0 && p.Vertical == "" {
		return badInput("every value given is empty: Meta keeps a field that is not sent, so give a value")
	}
	return nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func webhookSubscribe(fs *flag.FlagSet) adminAction {
	callback := fs.String("callback-url", "", "send the WABA's webhooks to this URL instead of the app's")
	verify := fs.String("verify-token", "", "the verify token the callback URL checks (default: WASP_VERIFY_TOKEN)")
	return adminAction{
		check: func() error {
			switch {
			case *callback == "" && *verify != "":
				return badInput("--verify-token goes with --callback-url")
			case *callback != "" && !isHTTPURL(*callback):
				return badInput("--callback-url must be an http:// or https:// URL (got %q)", *callback)
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			msg := "app subscribed to the webhooks of WABA " + t.wabaID
			var o *sender.CallbackOverride
			if *callback != "" {
				o = &sender.CallbackOverride{URI: *callback, VerifyToken: *verify}
				if o.VerifyToken == "" {
					o.VerifyToken = t.verifyToken
				}
				if o.VerifyToken == "" {
					return nil, badInput("--callback-url needs --verify-token (or WASP_VERIFY_TOKEN)")
				}
				msg += ", sent to " + *callback
			}
			return done(msg), t.graph.Subscribe(ctx, t.token, t.wabaID, o)
		},
	}
}

func webhookUnsubscribe(*flag.FlagSet) adminAction {
	return adminAction{run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		err := t.graph.Unsubscribe(ctx, t.token, t.wabaID)
		return done("app unsubscribed from the webhooks of WABA " + t.wabaID), err
	}}
}

func webhookStatus(*flag.FlagSet) adminAction {
	return adminAction{run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		apps, err := t.graph.SubscribedApps(ctx, t.token, t.wabaID)
		return appsTable(nonNil(apps)), err
	}}
}
