"""HTML templates of the checkout pages (a package so that the wheel carries them)."""
