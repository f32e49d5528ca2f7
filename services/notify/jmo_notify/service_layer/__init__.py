"""notify's handlers: events into inbox entries and deliveries; the delivery loop; the member's and operators' reads."""
