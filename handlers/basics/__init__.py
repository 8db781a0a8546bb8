"""What every conversation uses: the menu, /help and /cancel, form building blocks,
the network's vocabularies, who may do what, and the audit log."""
