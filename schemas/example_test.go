package schemas_test

import (
	"fmt"

	"wasp/schemas"
)

func ExampleParseWebhook() {
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"310958472216044","changes":[
		{"field":"messages","value":{"messaging_product":"whatsapp",
			"metadata":{"display_phone_number":"15550100234","phone_number_id":"118429306451287"},
			"contacts":[{"profile":{"name":"Ana"},"user_id":"BR.5502918374650192837"}],
			"messages":[{"from_user_id":"BR.5502918374650192837","id":"wamid.A1","timestamp":"1761902400",
				"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes"}}}]}},
		{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":9876543210987653}},
		{"field":"calls","value":{"calls":[]}}]}]}`)
	w, err := schemas.ParseWebhook(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range w.Changes() {
		switch v := c.Value.(type) {
		case *schemas.MessagesValue:
			for i := range v.Messages {
				m := &v.Messages[i]
				fmt.Printf("%s from %s at %d: %q\n", m.Type, m.UserKey(), m.Timestamp.Unix(), m.Text())
			}
		case *schemas.TemplateStatusUpdate:
			fmt.Printf("template %s %s\n", v.MessageTemplateID, v.Event)
		default:
			fmt.Printf("%s kept raw: %s\n", c.Field, c.Raw)
		}
	}
	// Output:
	// interactive from BR.5502918374650192837 at 1761902400: "Yes"
	// template 9876543210987653 APPROVED
	// calls kept raw: {"calls":[]}
}
