package bot_test

import (
	"context"
	"fmt"

	"wasp/processor/bot"
)

func ExampleRules() {
	rules, err := bot.NewRules(bot.RulesConfig{}) // or bot.LoadRules(tenantYAML)
	if err != nil {
		panic(err)
	}
	rep, err := rules.Reply(context.Background(), bot.Input{
		Tenant:   "bakery",
		Business: bot.Business{Name: "Panadería Lola", Hours: "de 8:00 a 20:00"},
		Type:     "text",
		Text:     "¿A qué hora abren?",
	})
	if err != nil {
		panic(err)
	}
	msg, _ := rep.Message() // the Graph body of the send command
	fmt.Println(rep.Intent, rep.Language, rep.Handoff)
	fmt.Println(string(msg))
	// Output:
	// hours es false
	// {"type":"text","text":{"body":"Nuestro horario: de 8:00 a 20:00"}}
}
