"""Identity's handlers: one per command or event, each a use case in the domain's words."""
