"""Gettext catalogs: ``<locale>/LC_MESSAGES/messages.po`` is the source of truth.

A package so the catalogs install with the code; ``bot.i18n`` compiles them in memory.
"""
