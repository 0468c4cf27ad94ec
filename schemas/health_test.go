package schemas_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wasp/schemas"
)

func TestAccountHealth(t *testing.T) {
	adverse := map[string]bool{
		"phone_number_quality_update.json":  false, // an upgrade
		"account_update_disabled.json":      true,
		"account_update_restriction.json":   true,
		"account_update_violation.json":     true,
		"account_update_partner_added.json": false,
		"account_update_volume_tier.json":   false,
	}
	for name, want := range adverse {
		b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
		if err != nil {
			t.Fatal(err)
		}
		w, err := schemas.ParseWebhook(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, ch := range w.Changes() {
			var got bool
			var summary string
			switch v := ch.Value.(type) {
			case *schemas.PhoneNumberQualityUpdate:
				got, summary = v.Downgrade(), v.Summary()
				if strings.Contains(summary, v.DisplayPhoneNumber) {
					t.Errorf("%s: the summary %q holds the phone number", name, summary)
				}
			case *schemas.AccountUpdate:
				got, summary = v.Adverse(), v.Summary()
			default:
				t.Fatalf("%s: a %T", name, v)
			}
			if got != want {
				t.Errorf("%s (%s): adverse = %v; want %v", name, summary, got, want)
			}
		}
	}
	for _, c := range []struct {
		q    schemas.PhoneNumberQualityUpdate
		want bool
	}{
		{schemas.PhoneNumberQualityUpdate{Event: "ONBOARDING", OldLimit: "TIER_10K", CurrentLimit: "TIER_2K"}, true},
		{schemas.PhoneNumberQualityUpdate{Event: "FLAGGED"}, true},
		{schemas.PhoneNumberQualityUpdate{Event: "UPGRADE", OldLimit: "TIER_1K", CurrentLimit: "TIER_10K"}, false},
		{schemas.PhoneNumberQualityUpdate{Event: "ONBOARDING", CurrentLimit: "TIER_250"}, false},
	} {
		if got := c.q.Downgrade(); got != c.want {
			t.Errorf("%s: downgrade = %v; want %v", c.q.Summary(), got, c.want)
		}
	}
}
