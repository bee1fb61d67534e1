"""Tagih: billing in chat for Indonesian merchants and schools."""
