"""SNAP (Bank Indonesia's open API standard) for virtual accounts: codes, signatures, tokens.

Pure domain: functions here take bytes, headers and sessions and return responses; the HTTP
routes in webhooks.snap only carry them.
"""
