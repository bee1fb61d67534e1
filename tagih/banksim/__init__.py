"""The bank simulator: a SNAP client that plays the bank against Tagih, and a small server
that serves the bank's own inquiry-status call from what the simulator paid."""
