"""The Qt front end of LogoMesh Studio: the only package that imports Qt.

Panes talk to the runtime through :class:`~logomesh_studio.studio.client.RuntimeClient`
only: plain-data commands in, plain-data runtime events out as Qt signals.
"""
