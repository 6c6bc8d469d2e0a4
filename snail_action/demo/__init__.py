"""`snail-images demo`: the run (`run`), its sample repository (`sample_repo`) and the gallery page (`gallery`)."""
