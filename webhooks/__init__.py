"""The FastAPI app: bank SNAP endpoints, Telegram and WhatsApp webhooks, health."""
