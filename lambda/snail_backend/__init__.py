"""snail-images backend: the Lambda handlers, imaging, naming, storage and catalog."""
