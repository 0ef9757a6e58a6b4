"""The `mreg` command line: typer commands, the error funnel and rendering.

Layer: top. Nothing imports this package; it imports the core and turns dataclasses into
tables (rich), JSON and markdown.
"""
