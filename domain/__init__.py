"""Plain domain vocabulary of the regulation (應急局績效管理辦法).

Imports neither ``telegram`` nor ``sqlalchemy``: ``scoring/`` computes from these
types alone, and ORM models map the same enums, so code, database and catalogs
speak one language.
"""
