"""Organisations and their groups: registration and review, linked group chats,
the partner directory, and for which organisation someone posts."""
