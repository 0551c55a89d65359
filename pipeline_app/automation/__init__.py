"""Server-side automations, one module per trigger (see hooks.py for what runs when):

- appointments: appointment status and the opportunity's stage mirror each other; the day job
- abandonment: the nightly abandonment of silent leads
- follow_ups: due follow-up reminders, the return of held opportunities
- conversations: messages (Communication) update the opportunity, replies move it, inbound creates it

What they share: `moves` (every automated move, with its timeline note) and `notifications` (the
desk bell and its email); `isolation` keeps one bad row from stopping a whole job.
"""
