"""Provider-to-provider messages about a client: `send()` is the only way to create one, and it
goes through the consent gate (`roi.consent.gate.decide`)."""
