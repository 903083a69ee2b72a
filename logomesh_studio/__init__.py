"""LogoMesh Studio: a desktop IDE for developing LogoMesh plugins."""

__version__ = "0.1.0"
