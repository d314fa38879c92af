package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/hookd/hookd/client"
)

// A provider's backend: an app for a customer, the customer's endpoint, an
// event, and the event's deliveries.
func Example() {
	ctx := context.Background()
	hookd, err := client.New("http://127.0.0.1:8080", "hk_your_admin_key")
	if err != nil {
		log.Fatal(err)
	}

	uid := "acme" // your id for the customer: usable instead of the app's id
	if _, err := hookd.CreateApp(ctx, client.AppCreateRequest{Name: "Acme Inc", UID: &uid}); err != nil {
		log.Fatal(err)
	}
	ep, err := hookd.CreateEndpoint(ctx, "acme", client.EndpointCreateRequest{
		URL:        "https://acme.example.com/webhooks",
		EventTypes: &[]string{"invoice.paid"},
	})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		// e.g. 422, with the field at fault: body.url
		if f, ok := apiErr.Field("url"); ok {
			log.Fatalf("the endpoint URL %v: %s", f.Value, f.Message)
		}
		log.Fatal(apiErr)
	} else if err != nil {
		log.Fatal(err) // the network, a cancelled context, ...
	}
	fmt.Println("endpoint", ep.ID)

	// With an id, publishing is idempotent (and retried on 429/503).
	id := "inv_1234_paid"
	ev, err := hookd.PublishEvent(ctx, "acme", client.EventCreateRequest{
		ID: &id, Type: "invoice.paid", Data: map[string]any{"invoice": "inv_1234", "amount": 4200},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Every delivery of the event, page after page.
	for d, err := range hookd.ListDeliveries(ctx, "acme", &client.ListDeliveriesParams{Event: &ev.ID}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(d.ID, d.EndpointID, d.Status, d.AttemptCount)
	}
}
