"""The optional Intercom webhook receiver and the queue it fills for the webhook sensor."""
