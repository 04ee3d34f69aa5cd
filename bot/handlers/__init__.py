"""Telegram update handlers: `on_<command>` coroutines, registered in bot.app.build_application."""
