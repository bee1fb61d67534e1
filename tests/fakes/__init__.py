"""Fake servers on 127.0.0.1 that more than one test folder uses."""
