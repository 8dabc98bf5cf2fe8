"""Target formats: one module and one class per format; the registry names them."""
