"""A person's own relation to the bot: the welcome, consent and privacy notice,
language, /mydata and /delete, and the link that opens a private chat."""
