"""The bot's revisions, oldest first by down_revision."""
