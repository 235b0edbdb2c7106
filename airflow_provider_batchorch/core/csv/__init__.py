"""CSV input and output: the one-pass profile (``profile``) built from encoding, delimiter, quote-scanner, chunk-plan
and type-inference modules; the reader of one chunk (``chunk_reader``); output cells and header (``output``,
``output_header``)."""
