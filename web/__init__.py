"""The citizens' survey page: the same survey as the chat, for people without Telegram.

A Starlette app (``web.app.create_app``) run by uvicorn (``jixiao web``); pages are Jinja2
templates with autoescaping and one stylesheet, no JavaScript. The rules are the services'
(``services.surveys``, ``services.rectification``), exactly as the chat uses them.
"""
