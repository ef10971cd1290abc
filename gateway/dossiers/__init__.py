"""The dossier view: everything the gateway knows about one dossier, in one answer."""
