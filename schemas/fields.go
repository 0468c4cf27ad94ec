package schemas

// This file holds the values of the subscription fields other than messages.
// They arrive with Entry.Time set and Entry.ID the WABA id.

// TemplateStatusUpdate is the value of message_template_status_update: a
// template was approved, rejected, paused, disabled, …
type TemplateStatusUpdate struct {
	Event                   string         `json:"event,omitzero"` // APPROVED, REJECTED, PAUSED, DISABLED, …
	MessageTemplateID       Scalar         `json:"message_template_id,omitzero"`
	MessageTemplateName     string         `json:"message_template_name,omitzero"`
	MessageTemplateLanguage string         `json:"message_template_language,omitzero"`
	MessageTemplateCategory string         `json:"message_template_category,omitzero"`
	Reason                  string         `json:"reason,omitzero"` // NONE, INVALID_FORMAT, …; null reads as ""
	DisableInfo             *DisableInfo   `json:"disable_info,omitzero"`
	OtherInfo               *OtherInfo     `json:"other_info,omitzero"`
	RejectionInfo           *RejectionInfo `json:"rejection_info,omitzero"`
}

// DisableInfo says when a template will be disabled.
type DisableInfo struct {
	DisableDate Scalar `json:"disable_date,omitzero"`
}

// OtherInfo explains a pause: Title is FIRST_PAUSE, SECOND_PAUSE,
// RATE_LIMITING_PAUSE, UNPAUSE or DISABLED.
type OtherInfo struct {
	Title       string `json:"title,omitzero"`
	Description string `json:"description,omitzero"`
}

// RejectionInfo explains a rejection.
type RejectionInfo struct {
	Reason         string `json:"reason,omitzero"`
	Recommendation string `json:"recommendation,omitzero"`
}

// TemplateQualityUpdate is the value of message_template_quality_update.
type TemplateQualityUpdate struct {
	PreviousQualityScore    string `json:"previous_quality_score,omitzero"` // GREEN, YELLOW, RED, UNKNOWN
	NewQualityScore         string `json:"new_quality_score,omitzero"`
	MessageTemplateID       Scalar `json:"message_template_id,omitzero"`
	MessageTemplateName     string `json:"message_template_name,omitzero"`
	MessageTemplateLanguage string `json:"message_template_language,omitzero"`
}

// TemplateCategoryUpdate is the value of template_category_update: Meta
// moved, or will move, a template to another category.
type TemplateCategoryUpdate struct {
	MessageTemplateID       Scalar `json:"message_template_id,omitzero"`
	MessageTemplateName     string `json:"message_template_name,omitzero"`
	MessageTemplateLanguage string `json:"message_template_language,omitzero"`
	PreviousCategory        string `json:"previous_category,omitzero"`
	NewCategory             string `json:"new_category,omitzero"`
	CorrectCategory         string `json:"correct_category,omitzero"`
}

// PhoneNumberQualityUpdate is the value of phone_number_quality_update: the
// messaging limit of a phone number changed. OldLimit and CurrentLimit are
// gone since February 2026; read MaxDailyConversationsPerBusiness.
type PhoneNumberQualityUpdate struct {
	DisplayPhoneNumber               string `json:"display_phone_number,omitzero"`
	Event                            string `json:"event,omitzero"` // ONBOARDING, THROUGHPUT_UPGRADE, …
	OldLimit                         string `json:"old_limit,omitzero"`
	CurrentLimit                     string `json:"current_limit,omitzero"` // TIER_2K, TIER_UNLIMITED, …
	MaxDailyConversationsPerBusiness Scalar `json:"max_daily_conversations_per_business,omitzero"`
}

// PhoneNumberNameUpdate is the value of phone_number_name_update: the review
// of a display name.
type PhoneNumberNameUpdate struct {
	DisplayPhoneNumber    string `json:"display_phone_number,omitzero"`
	Decision              string `json:"decision,omitzero"` // APPROVED, REJECTED, DEFERRED
	RequestedVerifiedName string `json:"requested_verified_name,omitzero"`
	RejectionReason       string `json:"rejection_reason,omitzero"` // null reads as ""
}

// AccountUpdate is the value of account_update: an event on the WABA. The
// object that goes with Event is set, e.g. BanInfo for DISABLED_UPDATE.
type AccountUpdate struct {
	Event           string          `json:"event,omitzero"`
	PhoneNumber     string          `json:"phone_number,omitzero"`
	Country         string          `json:"country,omitzero"` // BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE
	RestrictionInfo []Restriction   `json:"restriction_info,omitzero"`
	ViolationInfo   *ViolationInfo  `json:"violation_info,omitzero"`
	BanInfo         *BanInfo        `json:"ban_info,omitzero"`
	VolumeTierInfo  *VolumeTierInfo `json:"volume_tier_info,omitzero"`
	WabaInfo        *WabaInfo       `json:"waba_info,omitzero"` // partner and ad account events
}

// Restriction is one restriction of ACCOUNT_RESTRICTION. Expiration keeps
// what Meta sent, a Unix time or a date.
type Restriction struct {
	RestrictionType string `json:"restriction_type,omitzero"`
	Expiration      Scalar `json:"expiration,omitzero"`
}

// ViolationInfo is the policy violation of ACCOUNT_VIOLATION.
type ViolationInfo struct {
	ViolationType string `json:"violation_type,omitzero"`
}

// BanInfo is the ban state of DISABLED_UPDATE.
type BanInfo struct {
	WabaBanState string `json:"waba_ban_state,omitzero"` // SCHEDULE_FOR_DISABLE, DISABLE, REINSTATE
	WabaBanDate  string `json:"waba_ban_date,omitzero"`  // as Meta writes it, e.g. "April 17, 2025"
}

// VolumeTierInfo is the pricing tier of VOLUME_BASED_PRICING_TIER_UPDATE.
// Meta may send it twice; keep the smallest TierUpdateTime.
type VolumeTierInfo struct {
	TierUpdateTime  Timestamp `json:"tier_update_time,omitzero"`
	PricingCategory string    `json:"pricing_category,omitzero"`
	Tier            string    `json:"tier,omitzero"` // "25000001:50000000"
	EffectiveMonth  string    `json:"effective_month,omitzero"`
	Region          string    `json:"region,omitzero"`
}

// WabaInfo names the accounts of partner and ad account events.
type WabaInfo struct {
	WabaID                     string   `json:"waba_id,omitzero"`
	OwnerBusinessID            string   `json:"owner_business_id,omitzero"`
	PartnerAppID               string   `json:"partner_app_id,omitzero"`
	SolutionID                 string   `json:"solution_id,omitzero"`
	SolutionPartnerBusinessIDs []string `json:"solution_partner_business_ids,omitzero"`
	AdAccountLinked            string   `json:"ad_account_linked,omitzero"`
}

// AccountAlert is the value of account_alerts: news about messaging limits,
// Official Business Account status or the profile photo.
type AccountAlert struct {
	EntityType string    `json:"entity_type,omitzero"` // BUSINESS, PHONE_NUMBER, …
	EntityID   Scalar    `json:"entity_id,omitzero"`
	AlertInfo  AlertInfo `json:"alert_info,omitzero"`
}

// AlertInfo is the alert itself.
type AlertInfo struct {
	AlertSeverity    string `json:"alert_severity,omitzero"` // CRITICAL, WARNING, INFORMATIONAL
	AlertStatus      string `json:"alert_status,omitzero"`   // ACTIVE, NONE
	AlertType        string `json:"alert_type,omitzero"`
	AlertDescription string `json:"alert_description,omitzero"`
}

// BusinessCapabilityUpdate is the value of business_capability_update: the
// limits of the business portfolio changed. Each limit keeps what Meta sent,
// a number or a tier name; MaxDailyConversationPerPhone is the v23 name.
type BusinessCapabilityUpdate struct {
	MaxDailyConversationPerPhone     Scalar `json:"max_daily_conversation_per_phone,omitzero"`
	MaxDailyConversationsPerBusiness Scalar `json:"max_daily_conversations_per_business,omitzero"`
	MaxPhoneNumbersPerBusiness       Scalar `json:"max_phone_numbers_per_business,omitzero"`
	MaxPhoneNumbersPerWaba           Scalar `json:"max_phone_numbers_per_waba,omitzero"`
}

// UserPreferencesValue is the value of user_preferences: users who stopped
// or resumed marketing messages.
type UserPreferencesValue struct {
	MessagingProduct string           `json:"messaging_product,omitzero"`
	Metadata         Metadata         `json:"metadata,omitzero"`
	Contacts         []Contact        `json:"contacts,omitzero"`
	UserPreferences  []UserPreference `json:"user_preferences,omitzero"`
}

// UserPreference is one user's choice.
type UserPreference struct {
	WaID      string    `json:"wa_id,omitzero"`
	UserID    string    `json:"user_id,omitzero"` // BSUID
	Detail    string    `json:"detail,omitzero"`
	Category  string    `json:"category,omitzero"` // "marketing_messages"
	Value     string    `json:"value,omitzero"`    // stop, resume, signup
	SignupID  Scalar    `json:"signup_id,omitzero"`
	Timestamp Timestamp `json:"timestamp,omitzero"`
}

// UserKey returns the BSUID when there is one, else the wa_id.
func (p *UserPreference) UserKey() string { return firstOf(p.UserID, p.WaID) }

// SecurityUpdate is the value of security: the two-step verification PIN of
// a phone number changed or was reset.
type SecurityUpdate struct {
	DisplayPhoneNumber string `json:"display_phone_number,omitzero"`
	Event              string `json:"event,omitzero"` // PIN_CHANGED, PIN_RESET_REQUEST, PIN_RESET_SUCCESS
	Requester          string `json:"requester,omitzero"`
}

// AccountReviewUpdate is the value of account_review_update: the outcome of
// the review of a WABA.
type AccountReviewUpdate struct {
	Decision string `json:"decision,omitzero"` // APPROVED, REJECTED, PENDING, DEFERRED
}
