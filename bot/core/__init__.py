"""The platform-neutral core: types, i18n, router, flows, dispatcher and outbox."""
