"""Standalone apps: Studio, or one plugin workspace, frozen with PyInstaller.

``build`` drives PyInstaller (``packaging/build.py studio`` and ``logomesh-studio
package``), ``analysis`` finds what a workspace's plugins import, ``frozen`` is the
frozen app's entry point and ``selftest`` its ``--self-test``. Nothing here imports Qt.
"""
