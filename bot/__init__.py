"""Lotse: a chatbot that helps volunteer agencies run the local network of refugee aid."""

__version__ = "0.1.0"
