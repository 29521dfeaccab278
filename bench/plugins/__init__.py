"""Plug-ins: code of the user's that the harness measures as it measures its own.

A plug-in is named by a reference, `package.module:attribute` or `path/to/file.py:attribute`
(a relative path is taken from the sweep file's folder), and loaded when a point is built
(bench.plugins.reference). Today a rewiring rule is the one kind (bench.plugins.rewiring); the
model and data set follow the same shape (docs/plugins.md).
"""
