"""Reusable widgets that pages and forms embed (photo strip, ...). Import from the submodules."""
