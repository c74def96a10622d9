"""Pure score computation (later issue): plain ``domain`` values in, plain values out.

Imports only ``domain`` — never ``telegram``, ``sqlalchemy`` or ``conversations``.
"""
