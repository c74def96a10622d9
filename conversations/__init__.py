"""Chat flows, one module each; every module exposes ``build_handler()`` or ``build_handlers()``.

Handlers stay thin: parse the update, call one service, reply. Never imports ``scoring``.
"""
