"""A local stand-in for the part of Microsoft 365 we use: Graph v1.0 and Entra ID.

A dev and test tool only: a real HTTPS server (`python -m emulator`), never
imported by `server/`. Start at `emulator.app.create_app`.
"""
