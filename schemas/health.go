package schemas

import (
	"slices"
	"strings"
)

// Account-level webhooks an operator must hear about: a number's messaging
// limit going down or the number flagged, the account restricted, in
// violation, disabled or removed. Processors emit them as events of kind
// EventAccount; the alert rules raise them.

// Tiers of the messaging limit, lowest first: TIER_50 … TIER_UNLIMITED,
// with the older per-number tiers (TIER_1K) in their place.
var tiers = []string{"TIER_50", "TIER_250", "TIER_1K", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED"}

// tierRank orders tiers; unknown ones (TIER_NOT_SET, empty) are -1.
func tierRank(t string) int { return slices.Index(tiers, t) }

// Downgrade reports whether q lowers the number's standing: Meta's older
// DOWNGRADE and FLAGGED events, or a current limit below the old one.
func (q *PhoneNumberQualityUpdate) Downgrade() bool {
	switch q.Event {
	case "DOWNGRADE", "FLAGGED":
		return true
	}
	old, cur := tierRank(q.OldLimit), tierRank(q.CurrentLimit)
	return old >= 0 && cur >= 0 && cur < old
}

// Summary describes q without the display phone number.
func (q *PhoneNumberQualityUpdate) Summary() string {
	var b strings.Builder
	b.WriteString("phone number quality: " + q.Event)
	if q.OldLimit != "" || q.CurrentLimit != "" {
		b.WriteString(", messaging limit " + or(q.OldLimit, "?") + " → " + or(q.CurrentLimit, "?"))
	}
	if n := q.MaxDailyConversationsPerBusiness.String(); n != "" {
		b.WriteString(", max daily conversations " + n)
	}
	return b.String()
}

// Adverse reports whether a needs an operator: the account restricted, in
// violation of policy, disabled or scheduled for it, deleted or offboarded.
func (a *AccountUpdate) Adverse() bool {
	switch a.Event {
	case "ACCOUNT_RESTRICTION", "ACCOUNT_VIOLATION", "ACCOUNT_DELETED", "ACCOUNT_OFFBOARDED":
		return true
	case "DISABLED_UPDATE":
		return a.BanInfo == nil || a.BanInfo.WabaBanState != "REINSTATE"
	}
	return false
}

// Summary describes a without its phone number.
func (a *AccountUpdate) Summary() string {
	s := "account: " + a.Event
	for _, r := range a.RestrictionInfo {
		s += ", " + r.RestrictionType
	}
	if a.ViolationInfo != nil {
		s += ", " + a.ViolationInfo.ViolationType
	}
	if a.BanInfo != nil {
		s += ", " + a.BanInfo.WabaBanState
	}
	return s
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
