"""LogoMesh runtime: manifests, discovery, resolution, host, bridge. No Qt here."""
