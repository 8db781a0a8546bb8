"""The program: the command line, the demo network and the terminal demo chat.

The top of the layers (docs/architecture.md): it may use the features (`handlers`), the core
(`bot`) and the database (`db`); nothing imports it.
"""
