"""Channel adapters: Telegram, WhatsApp, e-mail, SMS and the console."""
