"""Referral advice: questions answered from the directory of services, and the
cards that show a service."""
