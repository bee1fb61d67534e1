"""The bank simulator: a SNAP client that plays the bank against Tagih, and a small server
that answers the bank's own inquiry-status call from what the simulator paid."""
