"""Volunteers and needs: sign-up and profile, posting and browsing needs, and
the offers that match them."""
