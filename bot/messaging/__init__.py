"""Messages the bot sends on its own: a write request's approval message and the requester's
decision DM. Shared by the listeners (after a click) and the scheduler (the expiry sweep),
so neither imports the other."""
