"""The domain: sheets, VA numbers, invoices, payments, receipts, reports and notices.

Never imports bot, webhooks or jobs, and never talks to a chat platform, SMTP or HTTP: it
returns results and writes outbox rows.
"""
