"""Events: the calendar people browse, posting and editing, seats and waiting
lists, alerts, reminders and digests, and subscriptions."""
